"""The string front end: expression text -> a parsed template -> IR.

The text is parsed with Python's ``ast`` and checked against an allowlist;
nothing the user writes ever reaches ``eval``, ``exec`` or ``compile``. What is
accepted:

* names, and ``int``/``float``/``complex``/``bool`` literals;
* unary ``- + ~``; binary ``+ - * / // % ** << >> & | ^``;
* one comparison ``< <= > >= == !=`` (chained comparisons are rejected: Python
  would combine them with ``and``, which arrays do not support);
* calls, with positional arguments, of the functions in the op table
  (``where(cond, x, y)``, ``abs(x)``, ...);
* reductions ``sum prod min max mean any all`` (and ``amin``, ``amax``) and
  ``nansum nanprod nanmin nanmax nanmean`` of any subexpression, anywhere:
  ``sum(a*b)``, ``a - mean(a, axis=0)``, with an axis as second argument or
  ``axis=`` (an int, a tuple of ints or None), ``keepdims=True|False`` (or an int, as NumPy
  takes it) and, for sum, prod, mean and their nan forms, ``dtype='float32'`` (or None).

Anything else -- attribute access, subscripts, lambdas, other keyword arguments,
``and``/``or``/``not``, strings -- is an :class:`~fusenum.errors.ExpressionError`
naming the piece and its column.

Parsing does not depend on the values bound to the names, so a
:class:`Parsed` template is cached per text and turned into IR once per
combination of input dtypes.
"""
from __future__ import annotations

import ast
from typing import Callable

import numpy as np

from . import chains
from .python_syntax import parse_expression
from ..errors import ArgumentTypeError, ConstantOverflowError, ExpressionError, excerpt
from ..ir.ops import BINARY_SYMBOLS, FUNCTIONS, UNARY_SYMBOLS, Op
from ..ir.records import record
from ..ir.reductions import BY_NAME
from ..ir.typing import PY_SCALARS, Builder, Operand

_BINARY = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.FloorDiv: "//",
           ast.Mod: "%", ast.Pow: "**", ast.LShift: "<<", ast.RShift: ">>",
           ast.BitAnd: "&", ast.BitOr: "|", ast.BitXor: "^"}
_COMPARE = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_UNARY = {ast.USub: "-", ast.UAdd: "+", ast.Invert: "~"}
# Function names that are Python builtins: on Python numbers they mean what Python computes.
PYTHON_BUILTINS = frozenset({"abs"})

_DESCRIBE = {ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
             ast.BoolOp: "'and'/'or' (use '&'/'|')", ast.IfExp: "conditional expression (use where())",
             ast.ListComp: "comprehension", ast.GeneratorExp: "comprehension",
             ast.SetComp: "comprehension", ast.DictComp: "comprehension",
             ast.List: "list display", ast.Tuple: "tuple", ast.Dict: "dict display",
             ast.Set: "set display", ast.Starred: "starred expression", ast.NamedExpr: "assignment",
             ast.Await: "await", ast.Yield: "yield", ast.YieldFrom: "yield",
             ast.JoinedStr: "f-string", ast.Slice: "slice"}


@record
class Parsed:
    """A validated expression: its names (in order of first use) and a template to build IR."""

    text: str
    names: tuple[str, ...]
    columns: tuple[int, ...]          # column of each name's first use
    template: tuple

    def build(self, builder: Builder, operands: list[Operand]) -> Operand:
        """The expression applied to ``operands`` (one per name) through ``builder``."""
        return _build(self.template, builder, operands, self.text)


def parse(text: str) -> Parsed:
    """Validate ``text`` and return its template; :class:`ExpressionError` if invalid."""
    if not isinstance(text, str):
        raise ArgumentTypeError(f"expression must be a str, not {type(text).__name__}")
    if not text.isascii():
        _check_encodable(text)
    stripped = text.strip()
    positions = _Positions(text, len(text) - len(text.lstrip()))
    try:
        tree = parse_expression(stripped)
    except SyntaxError as exc:
        # Python's SyntaxError offsets count characters (1-based); 0 when the text ends too early.
        column = positions.of(exc.lineno, exc.offset - 1) if exc.offset else len(text.rstrip())
        detail = "" if exc.msg == "invalid syntax" else f" ({exc.msg})"
        raise ExpressionError(f"invalid syntax{detail}", text, column) from None
    except (RecursionError, MemoryError):
        tree = None  # maybe a long flat chain (a+b+c+...), which chains.py parses in blocks
    converter = _Converter(text, positions)
    try:
        if tree is not None:
            template = converter.convert(tree.body)
        else:
            template = chains.convert(stripped, converter.convert_with)
    except (RecursionError, chains.NotAChain):
        raise ExpressionError("expression nests too deeply", text) from None
    return Parsed(text, tuple(converter.names), tuple(converter.columns), template)


def _check_encodable(text: str) -> None:
    """ExpressionError for a lone surrogate, which Python's parser cannot encode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ExpressionError(f"the text contains the lone surrogate {text[exc.start]!r}, which is not "
                              f"valid Unicode", text, exc.start) from None


class _Positions:
    """Columns in characters of the text as given, from ``ast``'s (line, UTF-8 byte offset) positions.

    ``ast`` numbers lines from 1 in the stripped text and counts a column in UTF-8
    bytes from the start of its line; users count characters from the start of
    what they wrote.
    """

    def __init__(self, text: str, lead: int):
        self.text, self.lead = text, lead
        self.starts: list[int] | None = None    # character index where each line of the stripped text starts
        self.widths: dict[int, list[int]] = {}  # line -> character index of each byte, for non-ASCII lines

    def of(self, lineno: int, column: int, in_bytes: bool = False) -> int:
        if self.starts is None:
            self.starts = chains.line_starts(self.text[self.lead:])
        start = self.starts[lineno - 1] if lineno - 1 < len(self.starts) else self.starts[-1]
        line_end = self.starts[lineno] if lineno < len(self.starts) else len(self.text) - self.lead
        line = self.text[self.lead + start:self.lead + line_end]
        if in_bytes and not line.isascii():
            chars = self.widths.get(lineno)
            if chars is None:
                chars = self.widths[lineno] = [k for k, ch in enumerate(line) for _ in ch.encode("utf-8")]
            column = chars[column] if column < len(chars) else len(line)
        return self.lead + start + column


class _Converter:
    """AST -> template tuples: ``("name", i)``, ``("const", v)``, ``("op", Op, column, args, python)``."""

    def __init__(self, text: str, positions: _Positions):
        self.text = text
        self.positions = positions
        self.names: list[str] = []
        self.columns: list[int] = []
        self.preset: dict[str, tuple] = {}  # placeholder names standing for converted text (chains.py)

    def column(self, node: ast.AST) -> int | None:
        """Where ``node`` starts, in characters of the text (None for nodes without a position)."""
        if not hasattr(node, "col_offset"):
            return None
        return self.positions.of(node.lineno, node.col_offset, in_bytes=True)

    def error(self, message: str, node: ast.AST) -> ExpressionError:
        return ExpressionError(message, self.text, self.column(node))

    def convert(self, node: ast.AST) -> tuple:
        method: Callable | None = getattr(self, f"_{type(node).__name__}", None)
        if method is None:
            what = _DESCRIBE.get(type(node), type(node).__name__)
            raise self.error(f"{what} is not allowed in an expression", node)
        return method(node)

    def convert_with(self, node: ast.AST, preset: dict[str, tuple]) -> tuple:
        """:meth:`convert` with the names in ``preset`` standing for the templates given."""
        self.preset = preset
        return self.convert(node)

    def _Name(self, node: ast.Name) -> tuple:
        if node.id in self.preset:
            return self.preset[node.id]
        if node.id not in self.names:
            self.names.append(node.id)
            self.columns.append(self.column(node))
        return ("name", self.names.index(node.id))

    def _Constant(self, node: ast.Constant) -> tuple:
        if type(node.value) is str:
            raise self.error(f"literal {node.value!r} is a str: fusenum computes on bytes, not unicode "
                             f"strings (write b{node.value!r})", node)
        if type(node.value) not in PY_SCALARS and type(node.value) is not bytes:
            raise self.error(f"literal {node.value!r} is not a number or bytes", node)
        return ("const", node.value)

    def _UnaryOp(self, node: ast.UnaryOp) -> tuple:
        symbol = _UNARY.get(type(node.op))
        if symbol is None:
            raise self.error("'not' is not allowed in an expression (use '~')", node)
        return self._apply(UNARY_SYMBOLS[symbol], node, [node.operand], python=True)

    def _BinOp(self, node: ast.BinOp) -> tuple:
        # Along the left spine iteratively: a+b+c+... nests one level per operator.
        spine = []
        while isinstance(node, ast.BinOp):
            spine.append(node)
            node = node.left
        template = self.convert(node)
        for node in reversed(spine):
            symbol = _BINARY.get(type(node.op))
            if symbol is None:
                raise self.error(f"operator {type(node.op).__name__} is not allowed", node)
            template = ("op", BINARY_SYMBOLS[symbol], self.column(node), (template, self.convert(node.right)),
                        True)
        return template

    def _Compare(self, node: ast.Compare) -> tuple:
        if len(node.ops) != 1:
            raise self.error("chained comparisons are not allowed (combine them with '&')", node)
        symbol = _COMPARE.get(type(node.ops[0]))
        if symbol is None:
            raise self.error(f"comparison {type(node.ops[0]).__name__} is not allowed", node)
        return self._apply(BINARY_SYMBOLS[symbol], node, [node.left, node.comparators[0]], python=True)

    def _Call(self, node: ast.Call) -> tuple:
        if not isinstance(node.func, ast.Name):
            raise self.error("only calls of functions by name are allowed", node)
        if node.func.id in BY_NAME:
            return self._reduction(node)
        op = FUNCTIONS.get(node.func.id)
        if op is None:
            raise self.error(f"unknown function {node.func.id!r}", node)
        if node.keywords:
            keyword = node.keywords[0]
            raise self.error(f"{_keyword(keyword)} is not allowed in {node.func.id}()", keyword)
        if len(node.args) != op.arity:
            raise self.error(f"{node.func.id}() takes {op.arity} argument"
                             f"{'s' if op.arity != 1 else ''}, got {len(node.args)}", node)
        return self._apply(op, node, node.args, python=node.func.id in PYTHON_BUILTINS)

    def _reduction(self, node: ast.Call) -> tuple:
        """``sum(x[, axis][, axis=..., keepdims=..., dtype=...])`` (``dtype`` where NumPy's function
        takes one)."""
        name = node.func.id
        row = BY_NAME[name]
        allowed = ("axis", "keepdims", "dtype") if row.takes_dtype else ("axis", "keepdims")
        if not 1 <= len(node.args) <= 2:
            raise self.error(f"{name}() takes an expression and optionally an axis, "
                             f"got {len(node.args)} positional arguments", node)
        options = {"axis": None, "keepdims": False, "dtype": None}
        if len(node.args) == 2:
            options["axis"] = self._axis(node.args[1], name)
        for keyword in node.keywords:
            if keyword.arg not in allowed:
                raise self.error(f"{_keyword(keyword)} is not allowed in {name}() "
                                 f"(allowed: {', '.join(allowed)})", keyword)
            if keyword.arg == "axis" and len(node.args) == 2:
                raise self.error(f"{name}() got the axis twice", keyword)
            if keyword.arg == "axis":
                options["axis"] = self._axis(keyword.value, name)
            elif keyword.arg == "keepdims":
                options["keepdims"] = self._keepdims(keyword.value, name)
            else:
                options["dtype"] = self._dtype(keyword.value, name)
        return ("reduce", row.name, self.column(node), self.convert(node.args[0]),
                options["axis"], options["keepdims"], options["dtype"])

    def _axis(self, node: ast.AST, name: str):
        """An axis literal: None, an int (maybe negative), or a tuple of ints."""
        if isinstance(node, ast.Constant) and node.value is None:
            return None
        if isinstance(node, ast.Tuple):
            return tuple(self._axis_int(element, name) for element in node.elts)
        return self._axis_int(node, name)

    def _axis_int(self, node: ast.AST, name: str) -> int:
        value = _signed_int(node)
        if value is None:
            raise self.error(f"the axis of {name}() must be an integer, a tuple of integers or None", node)
        return self._fitting(value, 64, f"the axis of {name}()", node)

    def _fitting(self, value: int, bits: int, what: str, node: ast.AST) -> int:
        """``value``, which NumPy reads as a C integer of ``bits`` bits (an axis as a 64-bit long,
        ``keepdims`` as a 32-bit int): one that does not fit is NumPy's ``OverflowError`` (an axis
        that fits a long but not an int is its ``AxisError``, as any axis out of bounds)."""
        if not -(1 << (bits - 1)) <= value < (1 << (bits - 1)):
            column = self.column(node)
            raise ConstantOverflowError(f"{what} does not fit in a {bits}-bit C integer at column {column} "
                                        f"in {excerpt(self.text, column)}")
        return value

    def _keepdims(self, node: ast.AST, name: str) -> bool:
        """True, False or an integer, which NumPy's reductions take as its truth (``keepdims=1``)."""
        if isinstance(node, ast.Constant) and type(node.value) is bool:
            return node.value
        value = _signed_int(node)
        if value is None:
            raise self.error(f"keepdims of {name}() must be True, False or an integer", node)
        return bool(self._fitting(value, 32, f"keepdims of {name}()", node))

    def _dtype(self, node: ast.AST, name: str) -> np.dtype | None:
        """A dtype written as a string (``dtype='float32'``) or a bare dtype name (``dtype=float32``), or
        None for ``dtype=None``."""
        spelled = node.value if isinstance(node, ast.Constant) else node.id if isinstance(node, ast.Name) else None
        if isinstance(node, ast.Constant) and spelled is None:
            return None  # (NumPy's default: dtype=None is no dtype)
        try:
            if not isinstance(spelled, str):
                raise TypeError
            return np.dtype(spelled)
        except (TypeError, ValueError, SyntaxError):  # NumPy parses 'f8,(2' with Python's own parser
            raise self.error(f"the dtype of {name}() must be a dtype name such as 'float64'", node) from None

    def _apply(self, op: Op, node: ast.AST, args: list[ast.AST], python: bool = False) -> tuple:
        return ("op", op, self.column(node), tuple(self.convert(a) for a in args), python)


def _signed_int(node: ast.AST) -> int | None:
    """An int literal under any unary ``-`` and ``+`` (``-1``, ``--1``), or None for anything else."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    if not (isinstance(node, ast.Constant) and type(node.value) is int):
        return None
    return sign * node.value


def _keyword(keyword: ast.keyword) -> str:
    return f"keyword argument {keyword.arg!r}" if keyword.arg is not None else "'**' argument"


def _build(template: tuple, builder: Builder, operands: list[Operand], text: str) -> Operand:
    """The template's IR, operands before their users (iteratively: templates can be ten
    thousand operations deep)."""
    values: list[Operand] = []
    stack: list[tuple[tuple, bool]] = [(template, False)]
    while stack:
        item, ready = stack.pop()
        kind = item[0]
        if kind == "name":
            values.append(operands[item[1]])
        elif kind == "const":
            values.append(item[1])
        elif not ready:
            stack.append((item, True))
            stack.extend((arg, False) for arg in reversed(_arguments(item)))
        else:
            count = len(_arguments(item))
            args = values[len(values) - count:]
            del values[len(values) - count:]
            values.append(_apply_template(item, builder, args, text))
    return values[0]


def _arguments(template: tuple) -> tuple:
    return (template[3],) if template[0] == "reduce" else template[3]


def _apply_template(template: tuple, builder: Builder, args: list[Operand], text: str) -> Operand:
    # try/except rather than a context manager: this runs once per operation of every new expression
    if template[0] == "reduce":
        _, name, column, _, axis, keepdims, dtype = template
        try:
            return builder.reduce(name, args[0], axis, keepdims, dtype)
        except (TypeError, ValueError, ArithmeticError) as exc:
            _locate(exc, name, column, text)
            raise
    _, op, column, _, python = template
    try:
        return builder.apply(op, *args, python=python)
    except (TypeError, ValueError, ArithmeticError) as exc:
        _locate(exc, op.name, column, text)
        raise


def _locate(exc: BaseException, name: str, column: int, text: str) -> None:
    """Note on an error raised while typing where in the text it comes from."""
    if not getattr(exc, "_fusenum_located", False):
        note = f"in {name}() at column {column} of {excerpt(text, column)}"
        if hasattr(exc, "add_note"):
            exc.add_note(note)
        else:  # Python 3.10: PEP 678's attribute, which 3.10's traceback does not print
            exc.__notes__ = [*getattr(exc, "__notes__", ()), note]
        exc._fusenum_located = True
