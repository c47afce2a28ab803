"""numexpr's expression text: the ``sanitize=`` check, then Python's ``ast`` into a small template.

numexpr evaluates the text with Python's ``eval`` over objects that record
operations; fusenum never evaluates user text. It parses it with ``ast`` and
keeps the pieces numexpr's recording objects can meet -- names, number and
string literals, operators, comparisons, calls, ``.real``/``.imag``, and the
Python constructs that only work on constants (``and``/``or``/``not``,
conditional expressions), which :mod:`.tree` interprets the way Python's
``eval`` would have. The text is parsed as given (leading blanks are Python's
``IndentationError``, as numexpr's ``compile`` gives them), and a name of one of
numexpr's functions is that function wherever it appears, as numexpr binds them
over the names it looks up: ``sin + 1`` is Python's ``TypeError`` for a function,
whatever array is called ``sin``.

``sanitize=True`` (numexpr's default; ``NUMEXPR_SANITIZE=0`` in the environment at the call turns it off)
applies numexpr's rule before parsing: with whitespace removed and
single-quoted strings skipped, the text must contain no ``;``, ``:`` or ``[``,
no double-underscore name (``__class__``), and no attribute access except
``.real``, ``.imag`` and the ``.`` inside a number (``1.5``, ``2.e3``,
``1.5j``). Such text raises ``ValueError``. Without it, the parser still
accepts nothing else: a subscript or an attribute is a ``TypeError`` /
``AttributeError``, as numexpr's ``eval`` would raise, and where it would: a refused
construct is a ``("refused", operands, error, message)`` item that :mod:`.tree`
raises once its evaluation gets there, after the construct's operands (so the
first error in Python's order is the one raised, ``a.T[0]`` an ``AttributeError``,
and a branch not taken raises nothing: ``1 if True else a.T`` is ``1``).
"""
from __future__ import annotations

import ast
import os
import re

from ..errors import ExpressionError, excerpt
from ..frontend.python_syntax import parse_expression
from .tree import NAMES

# A '.' starting a word that is not 'real', 'imag' or the fraction/exponent/imaginary tail of a number.
_ATTRIBUTE = r"\.(?=\w)(?!(?:real|imag|\d*[eE]?[+-]?\d+j?|\d*j)\b)"
_DUNDER = r"(?:^|\W)__\w+__(?:$|\W)"
_FORBIDDEN = re.compile(rf"[;\[:]|{_DUNDER}|{_ATTRIBUTE}")
_QUOTED = re.compile(r"'[^']*'")
_SPACE = re.compile(r"\s+")

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//", ast.Mod: "%",
           ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>", ast.BitAnd: "&", ast.BitOr: "|",
           ast.BitXor: "^"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~", ast.Not: "not"}


def default_sanitize() -> bool:
    """numexpr's default for ``sanitize=None``: on, unless ``NUMEXPR_SANITIZE`` says ``0``."""
    setting = os.environ.get("NUMEXPR_SANITIZE")
    return True if setting is None else bool(int(setting))


def check_sanitized(text: str) -> None:
    """numexpr's ``ValueError`` for text its sanitizer rejects."""
    bare = _QUOTED.sub("", _SPACE.sub("", text))
    if _FORBIDDEN.search(bare) is not None:
        raise ValueError(f"Expression {text} has forbidden control characters.")


class Parsed:
    """A checked text: the names it reads (sorted, numexpr's input order) and its template.

    Template items: ``("name", index)``, ``("const", value)``, ``("unary", symbol, x)``,
    ``("binary", symbol, x, y)``, ``("compare", symbols, operands)``, ``("boolop", "and"|"or",
    operands)``, ``("ifexp", test, body, orelse)``, ``("attr", x, "real"|"imag")``,
    ``("call", name, args, keywords)``.
    """

    __slots__ = ("text", "names", "template")

    def __init__(self, text: str, names: tuple[str, ...], template: tuple):
        self.text, self.names, self.template = text, names, template


def _function(name: str):
    """A stand-in for numexpr's function ``name`` where the text uses it as a value: a Python function,
    so Python's operators treat it as they treat numexpr's (``sin + 1`` is a ``TypeError``)."""
    def function(*args, **kwargs):
        raise TypeError(f"{name}() is only called by name")
    function.__name__ = function.__qualname__ = name
    return function


#: numexpr binds its function names over any array of that name: a name read as a value is the function.
_FUNCTIONS = {name: _function(name) for name in sorted(NAMES)}


def _none(node: ast.AST) -> list:
    return []


#: The operands Python evaluates before it applies a construct numexpr refuses, in its order.
_OPERANDS = {
    ast.Subscript: lambda node: [node.value, node.slice],
    ast.Slice: lambda node: [node.lower, node.upper, node.step],
    ast.List: lambda node: node.elts,
    ast.Tuple: lambda node: node.elts,
    ast.Set: lambda node: node.elts,
    ast.Starred: lambda node: [node.value],
    ast.Dict: lambda node: [x for pair in zip(node.keys, node.values) for x in pair],
}


def parse(text: str) -> Parsed:
    """The template of ``text`` (as given: leading blanks are Python's ``IndentationError``);
    ``SyntaxError`` as Python's compiler gives it, ``TypeError`` or ``AttributeError`` for a
    construct numexpr's evaluation would reject."""
    try:
        tree = parse_expression(text, "<expr>")
    except (RecursionError, MemoryError):
        raise _too_deep(text) from None
    called, named = set(), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            called.add(id(node.func))
        elif isinstance(node, ast.Name) and node.id not in NAMES:
            named.append(node)
    names = tuple(sorted({node.id for node in named if id(node) not in called}))
    try:
        template = _Converter(names, text).convert(tree.body)
    except RecursionError:
        raise _too_deep(text) from None
    return Parsed(text, names, template)


def _too_deep(text: str) -> RecursionError:
    """numexpr's error for text nested beyond Python's recursion limit (its ``eval`` recurses)."""
    return RecursionError(f"expression nests too deeply (maximum recursion depth exceeded) in "
                          f"{excerpt(text)}")


class _Converter:
    def __init__(self, names: tuple[str, ...], text: str):
        self.index = {name: k for k, name in enumerate(names)}
        self.text = text  # (for errors)

    def convert(self, node: ast.AST) -> tuple:
        method = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            # numexpr compiles the text before it looks at it: Python's compiler refuses some
            # (``yield``, ``await``, an async comprehension outside a function) with a SyntaxError
            compile(self.text, "<expr>", "eval")
            return self._refused(_OPERANDS.get(type(node), _none)(node), TypeError,
                                 f"unsupported expression element: {type(node).__name__}")
        return method(node)

    def _refused(self, operands: list, error: type[Exception], message: str) -> tuple:
        """A construct numexpr's ``eval`` refuses once it has evaluated ``operands`` (see the module
        docstring)."""
        return ("refused", tuple(self.convert(x) for x in operands if x is not None), error, message)

    def _JoinedStr(self, node: ast.JoinedStr) -> tuple:
        # numexpr's ``eval`` makes an f-string a str: one without fields is that str constant; one
        # with fields would format the operands' Python objects, which are not known here.
        if all(isinstance(part, ast.Constant) for part in node.values):
            return ("const", "".join(part.value for part in node.values))
        raise ExpressionError("an f-string with fields is not an expression numexpr computes (it would "
                              "format the operands into a str)", self.text, node.col_offset)

    def _Name(self, node: ast.Name) -> tuple:
        if node.id in _FUNCTIONS:  # a function as a value (numexpr's, whatever array has its name)
            return ("const", _FUNCTIONS[node.id])
        return ("name", self.index[node.id])

    def _Constant(self, node: ast.Constant) -> tuple:
        if node.value is Ellipsis:
            return self._refused([], TypeError, "unsupported expression element: Ellipsis")
        return ("const", node.value)

    def _UnaryOp(self, node: ast.UnaryOp) -> tuple:
        return ("unary", _UNARY[type(node.op)], self.convert(node.operand))

    def _BinOp(self, node: ast.BinOp) -> tuple:
        symbol = _BINARY.get(type(node.op))
        if symbol is None:
            return self._refused([node.left, node.right], TypeError,
                                 f"unsupported operator: {type(node.op).__name__}")
        return ("binary", symbol, self.convert(node.left), self.convert(node.right))

    def _Compare(self, node: ast.Compare) -> tuple:
        symbols = []
        for position, op in enumerate(node.ops):
            if type(op) not in _COMPARE:
                return self._refused([node.left, *node.comparators[:position + 1]], TypeError,
                                     f"unsupported comparison: {type(op).__name__}")
            symbols.append(_COMPARE[type(op)])
        return ("compare", tuple(symbols), tuple(self.convert(x) for x in [node.left, *node.comparators]))

    def _BoolOp(self, node: ast.BoolOp) -> tuple:
        return ("boolop", "and" if isinstance(node.op, ast.And) else "or",
                tuple(self.convert(x) for x in node.values))

    def _IfExp(self, node: ast.IfExp) -> tuple:
        return ("ifexp", self.convert(node.test), self.convert(node.body), self.convert(node.orelse))

    def _Attribute(self, node: ast.Attribute) -> tuple:
        if node.attr not in ("real", "imag"):
            return self._refused([node.value], AttributeError,
                                 f"expression element has no attribute {node.attr!r}")
        return ("attr", self.convert(node.value), node.attr)

    def _Call(self, node: ast.Call) -> tuple:
        arguments = [*node.args, *(k.value for k in node.keywords)]
        if not isinstance(node.func, ast.Name):  # (``a.sum()``: numexpr's AttributeError for ``a.sum`` first)
            return self._refused([node.func, *arguments], TypeError,
                                 "only functions called by name are supported")
        starred = any(isinstance(arg, ast.Starred) for arg in node.args)
        if starred or any(k.arg is None for k in node.keywords):
            return self._refused(arguments, TypeError, f"{node.func.id}() does not take * or ** arguments")
        return ("call", node.func.id, tuple(self.convert(arg) for arg in node.args),
                tuple((k.arg, self.convert(k.value)) for k in node.keywords))
