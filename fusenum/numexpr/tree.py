"""numexpr's expression tree: what numexpr builds from a text, with its construction rules.

numexpr evaluates the text with Python over recording objects, so
literal-only parts are computed by Python (``2*3`` is 6, ``~True`` is -2,
``1 < 2 < a`` is ``2 < a``) and an operation on an array records a node whose
*kind* is the highest of its operands' (:mod:`.kinds`). On top of that come its
rules, mirrored here: a function of integers computes in ``double`` (except
``copy``, ``ones_like``, ``round``, ``sign``), each function has a lowest (and
some a highest) kind, ``+`` and ``*`` of bools are ``|`` and ``&``, ``/`` of
integers is ``double``, ``a < b`` is ``b > a``, and with ``optimization=
'moderate'`` or ``'aggressive'`` (the default) division by a constant of the
same float kind multiplies by its reciprocal and powers by constants become
multiplications (integral and half-integral exponents up to 50, aggressive) or
``sqrt``/``ones_like``/``1/x`` (moderate).

:func:`build` turns a :class:`~fusenum.numexpr.syntax.Parsed` template and the
kinds of the bound arrays into that tree; :mod:`.lowering` types it and builds
fusenum's IR.
"""
from __future__ import annotations

import operator

import numpy as np

from ..ir.typing import check_int_fold
from . import kinds

BOOLEAN_MESSAGE = ("You can't use Python's standard boolean operators in NumExpr expressions. You should "
                   "use their bitwise counterparts instead: '&' instead of 'and', '|' instead of 'or', "
                   "and '~' instead of 'not'.")
#: What numexpr takes as a constant operand (a NumPy float64 is a ``float``; float32 and int64 are not).
SCALARS = (bool, np.int32, int, float, np.float64, complex, bytes, str)


class Expr:
    """A node of numexpr's tree: ``op`` is ``"const"``, ``"var"``, an opcode or a function name."""

    __slots__ = ("op", "kind", "args", "value", "function")

    def __init__(self, op: str, kind: str, args: tuple = (), value=None, function: bool = False):
        if kind == "bool" and op in ("add", "mul"):
            op = "or" if op == "add" else "and"
        self.op, self.kind, self.args, self.value = op, kind, tuple(args), value
        #: Recorded by a function call (numexpr's FuncNode, a subclass of its OpNode).
        self.function = function

    def __bool__(self):
        raise TypeError(BOOLEAN_MESSAGE)

    def __repr__(self) -> str:
        if self.op == "const":
            return f"{self.value!r}:{self.kind}"
        if self.op == "var":
            return f"var{self.value}:{self.kind}"
        return f"{self.op}({', '.join(map(repr, self.args))}):{self.kind}"


def constant(value) -> Expr:
    return Expr("const", kinds.of_constant(value), value=value)


def _node(x) -> Expr:
    """A literal operand as numexpr's constant node (``TypeError`` for what is not a number or string)."""
    if isinstance(x, Expr):
        return x
    if isinstance(x, SCALARS) or isinstance(x, np.generic):
        return constant(x)
    raise TypeError(f"unsupported object type: {type(x)}")


def _op(name: str, args, kind: str | None = None, function: bool = False) -> Expr:
    if kind is None:
        kind = kinds.highest(a.kind for a in args)
    return Expr(name, kind, args, function=function)


# ---- operators ---------------------------------------------------------------------------------------

_PYTHON = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv,
           "//": operator.floordiv, "%": operator.mod, "**": operator.pow, "<<": operator.lshift,
           ">>": operator.rshift, "&": operator.and_, "|": operator.or_, "^": operator.xor,
           "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
           "!=": operator.ne}
_OPCODE = {"+": "add", "-": "sub", "*": "mul", "//": "floordiv", "%": "mod", "<<": "lshift", ">>": "rshift",
           "&": "and", "|": "or", "^": "xor", "==": "eq", "!=": "ne", ">": "gt", ">=": "ge"}
_SWAPPED = {"<": "gt", "<=": "ge"}
# numexpr's nodes have no reflected '&', '|', '^', '//'; reflected '+', '*', '==', '!=' put the node first.
_NOT_REFLECTED = frozenset({"&", "|", "^", "//"})
_REFLECTED_SWAP = frozenset({"+", "*", "==", "!="})


def _class_name(node: Expr) -> str:
    """The class numexpr's node for ``node`` has (its messages name it)."""
    default = "FuncNode" if node.function else "OpNode"
    return {"var": "VariableNode", "const": "ConstantNode"}.get(node.op, default)


def binary(symbol: str, left, right, optimization: str) -> object:
    """``left symbol right`` as numexpr's evaluation gives it."""
    if not isinstance(left, Expr) and not isinstance(right, Expr):
        # (``10**10**10`` is an OverflowError at once, where Python would compute it for minutes)
        check_int_fold(_PYTHON[symbol], (left, right))
        return _PYTHON[symbol](left, right)
    if not isinstance(left, Expr):  # Python asks the right operand's reflected method
        if symbol in _NOT_REFLECTED:
            raise TypeError(f"unsupported operand type(s) for {symbol}: '{type(left).__name__}' and "
                            f"'{_class_name(right)}'")
        if symbol in _REFLECTED_SWAP:
            left, right = right, left
    if symbol == "/":
        return divide(_node(left), _node(right), optimization)
    if symbol == "**" and isinstance(left, Expr):
        return power(left, _node(right), optimization)
    left, right = _node(left), _node(right)
    if left.op == "const" and right.op == "const":
        return constant(_PYTHON[symbol](left.value, right.value))
    if symbol in ("==", "!=") and right.function and not left.function and left.op not in ("var", "const"):
        # Python tries a right operand whose class subclasses the left's first (FuncNode < OpNode)
        left, right = right, left
    if symbol in _SWAPPED:
        left, right = right, left
    name = _SWAPPED.get(symbol) or _OPCODE.get(symbol, "pow")
    return _op(name, (left, right), "bool" if name in ("eq", "ne", "gt", "ge") else None)


def unary(symbol: str, x) -> object:
    """``symbol x`` (``-``, ``+``, ``~``, ``not``) as numexpr's evaluation gives it."""
    if symbol == "not":
        return not x  # an Expr raises numexpr's TypeError
    if symbol == "+":
        return x if isinstance(x, Expr) else +x
    python = operator.neg if symbol == "-" else operator.invert
    if not isinstance(x, Expr):
        return python(x)
    if x.op == "const":
        return constant(python(x.value))
    return _op("neg" if symbol == "-" else "invert", (x,))


def divide(a: Expr, b: Expr, optimization: str) -> Expr:
    """``a / b``: true division (``double`` for integers), or ``a * (1/b)`` for a constant ``b`` of
    ``a``'s float kind unless ``optimization='none'``."""
    if (optimization != "none" and b.op == "const" and a.kind == b.kind
            and a.kind in ("float", "double", "complex")):
        return _op("mul", (a, constant(1.0 / b.value)))
    kind = kinds.highest((a.kind, b.kind))
    return _op("div", (a, b), "double" if kind in ("bool", "int", "long") else kind)


#: Exponents at most this big (integral or half-integral) become multiplications (aggressive).
POWER_RANGE = 50


def power(a: Expr, b: Expr, optimization: str) -> Expr:
    """``a ** b`` for a recorded ``a``, with numexpr's rewrites of constant exponents."""
    if b.op != "const":
        return _op("pow", (a, b))
    x = b.value
    if a.kind in ("int", "long") and b.kind in ("int", "long") and x < 0:
        raise ValueError("Integers to negative integer powers are not allowed.")
    if optimization == "aggressive" and int(2 * x) == 2 * x and -POWER_RANGE <= abs(x) <= POWER_RANGE:
        return _power_by_multiplication(a, x, optimization)
    if optimization in ("moderate", "aggressive"):
        if x == -1:
            return _op("div", (constant(1), a))
        if x == 0:
            return _op("ones_like", (a,))
        if x == 0.5:
            return _op("sqrt", (a,), "double" if a.kind in ("int", "long") else a.kind, function=True)
        if x == 1:
            return a
        if x == 2:
            return _op("mul", (a, a))
    return _op("pow", (a, b))


def _power_by_multiplication(a: Expr, x, optimization: str) -> Expr:
    """``a ** x`` for an integral or half-integral ``x`` by squaring (then ``sqrt``, then ``1 / r``)."""
    count, half = int(abs(x)), int(abs(2 * x)) % 2
    result, square, bit = None, a, 1
    while True:
        if count & bit:
            result = square if result is None else _op("mul", (result, square))
        bit <<= 1
        if bit > count:
            break
        square = _op("mul", (square, square))
    if half:
        root = _op("sqrt", (a,), "double" if a.kind in ("int", "long") else a.kind)
        result = root if result is None else _op("mul", (result, root))
    if result is None:
        result = _op("ones_like", (a,))
    if x < 0:
        result = divide(constant(1), result, optimization)
    return result


def attribute(x, name: str) -> object:
    """``x.real`` / ``x.imag``."""
    if not isinstance(x, Expr):
        return getattr(x, name)
    if x.op == "const":
        return constant(getattr(complex(x.value), name))
    return _op(name, (x,), "double")


# ---- functions -----------------------------------------------------------------------------------------

#: Functions: name -> (NumPy function for constants, lowest kind, highest kind).
FUNCTIONS = {
    "copy": (np.copy, None, None), "ones_like": (np.ones_like, None, None),
    **{name: (getattr(np, name), "float", None) for name in (
        "sqrt", "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "tanh", "arcsinh",
        "arccosh", "arctanh", "fmod", "arctan2", "log", "log1p", "log10", "log2", "exp", "expm1")},
    **{name: (getattr(np, name), "double", None) for name in (
        "hypot", "nextafter", "copysign", "maximum", "minimum", "round", "trunc", "sign", "isnan",
        "isfinite", "isinf", "signbit")},
    "abs": (np.absolute, "float", None),
    "ceil": (np.ceil, "float", "double"), "floor": (np.floor, "float", "double"),
    "real": (np.real, "double", "double"), "imag": (np.imag, "double", "double"),
    "complex": (complex, "complex", None), "conj": (np.conj, "complex", None),
}
#: Every name numexpr binds to one of its functions: such a name is never an array's.
NAMES = frozenset({*FUNCTIONS, "where", "contains", *kinds.REDUCTIONS})
#: Functions that keep integer kinds (numexpr computes every other function of integers in double).
_KEEP_INTEGERS = frozenset({"copy", "ones_like", "round", "sign"})
_BOOLEAN_RESULT = frozenset({"isnan", "isfinite", "isinf", "signbit"})
#: The opcode or function-table name numexpr records for a function spelled differently.
_RECORDED = {"abs": "absolute", "conj": "conjugate"}


def call(name: str, args: list, keywords: dict) -> object:
    """``name(*args, **keywords)``: a function of numexpr's table, ``where``, ``contains`` or a reduction."""
    if name in kinds.REDUCTIONS:
        return reduction(name, *args, **keywords)
    if name == "where":
        return _no_keywords(name, keywords) or where(*args)
    if name == "contains":
        return _no_keywords(name, keywords) or contains(*args)
    if name not in FUNCTIONS:
        raise TypeError(f"unknown function {name!r} (numexpr: 'VariableNode' object is not callable)")
    _no_keywords(name, keywords)
    numpy_function, lowest, highest = FUNCTIONS[name]
    arity = 2 if name in ("fmod", "arctan2", "hypot", "nextafter", "copysign", "maximum", "minimum",
                          "complex") else 1
    nodes = [_node(x) for x in args]
    if all(x.op == "const" for x in nodes):
        # numexpr calls the function on constants, however many: ``complex()`` is 0j, ``sin()`` NumPy's
        # TypeError
        return constant(numpy_function(*[x.value for x in nodes]))
    if len(args) != arity:
        # numexpr looks for an opcode of these operand kinds, and has none
        result = "complex" if name == "complex" else kinds.highest(x.kind for x in nodes)
        codes = "".join(kinds.CODE[kind] for kind in [result, *(x.kind for x in nodes)])
        raise NotImplementedError(f"couldn't find matching opcode for '{_RECORDED.get(name, name)}_{codes}'")
    kind = kinds.highest(x.kind for x in nodes)
    if kind in ("int", "long"):
        if name not in _KEEP_INTEGERS:
            kind = "double"
    else:
        if lowest and kinds.rank(lowest) > kinds.rank(kind):
            kind = lowest
        if highest and kinds.rank(highest) < kinds.rank(kind):
            kind = highest
    return _op(_RECORDED.get(name, name), nodes, "bool" if name in _BOOLEAN_RESULT else kind, function=True)


def _no_keywords(name: str, keywords: dict) -> None:
    if keywords:
        raise TypeError(f"{name}() got an unexpected keyword argument {next(iter(keywords))!r}")


def where(condition, x, y) -> object:
    """``where(condition, x, y)``; a constant condition picks its branch right away."""
    condition, x, y = _node(condition), _node(x), _node(y)
    if condition.op == "const":
        return x if condition.value else y
    return _op("where", (condition, x, y), function=True)


def contains(haystack, needle) -> Expr:
    """``contains(haystack, needle)`` of bytes: bool."""
    return _op("contains", (_node(haystack), _node(needle)), "bool", function=True)


#: The raw axis numexpr passes for "all axes".
ALL_AXES = 255


def reduction(name: str, a, axis=None) -> object:
    """``sum``/``prod``/``min``/``max`` of ``a`` over ``axis`` (an int from 0 to 254, or None); the
    parameters are named as numexpr's (``sum(a=x, axis=0)``)."""
    if isinstance(axis, Expr):
        if axis.op != "const":
            bool(axis)  # numexpr compares a recorded axis with 0: its boolean-operator TypeError
        axis = axis.value
    if axis is None:
        axis = ALL_AXES
    elif axis < 0:
        raise ValueError("negative axis are not supported")
    elif axis > 254:
        raise ValueError("cannot encode axis")
    if isinstance(a, Expr) and a.op == "const":
        return a
    if not isinstance(a, (Expr, bool, np.int32, np.int64, float, complex)):
        # numexpr reads the kind of whatever it was given; a Python int has none
        raise AttributeError(f"'{type(a).__name__}' object has no attribute 'astKind'")
    a = _node(a)
    # (a float axis is kept: numexpr fails to encode it as a byte only once its program is typed,
    # :func:`check_axes_encode`)
    return Expr(name, a.kind, (a,), value=axis if isinstance(axis, float) else int(axis), function=True)


# ---- the whole text ------------------------------------------------------------------------------------

def build(template: tuple, variable_kinds: list[str], optimization: str) -> Expr:
    """numexpr's tree for a parsed template, the names bound to arrays of these kinds.

    The root is always an operation: a bare name or constant is numexpr's ``copy`` of it.
    """
    result = _evaluate(template, variable_kinds, optimization)
    if not isinstance(result, Expr):
        if not isinstance(result, SCALARS):
            raise TypeError(f"unsupported expression type: {type(result)}")
        result = constant(result)
    if result.op in ("const", "var"):
        result = Expr("copy", result.kind, (result,))
    return result


def _evaluate(item: tuple, variable_kinds: list[str], optimization: str) -> object:
    kind = item[0]
    if kind == "name":
        return Expr("var", variable_kinds[item[1]], value=item[1])
    if kind == "const":
        return item[1]

    def sub(x):
        return _evaluate(x, variable_kinds, optimization)

    if kind == "unary":
        return unary(item[1], sub(item[2]))
    if kind == "binary":
        return binary(item[1], sub(item[2]), sub(item[3]), optimization)
    if kind == "compare":
        symbols, operands = item[1], item[2]
        left = sub(operands[0])
        result = True
        for position, (symbol, right_item) in enumerate(zip(symbols, operands[1:])):
            right = sub(right_item)
            result = binary(symbol, left, right, optimization)
            if position < len(symbols) - 1 and not result:  # Python's chained comparison: 'and'
                return result
            left = right
        return result
    if kind == "boolop":
        *tested, last = item[2]
        for operand in tested:
            value = sub(operand)
            if bool(value) == (item[1] == "or"):
                return value
        return sub(last)  # (as Python's and/or: the last operand is returned untested)
    if kind == "ifexp":
        return sub(item[2]) if sub(item[1]) else sub(item[3])
    if kind == "attr":
        return attribute(sub(item[1]), item[2])
    if kind == "refused":  # (a construct numexpr's eval refuses when it gets there: syntax's docstring)
        for operand in item[1]:
            sub(operand)
        raise item[2](item[3])
    return call(item[1], [sub(x) for x in item[2]], {key: sub(value) for key, value in item[3]})


def variables(root: Expr) -> set[int]:
    """The template name indices of the variables under ``root``."""
    found, stack = set(), [root]
    while stack:
        node = stack.pop()
        if node.op == "var":
            found.add(node.value)
        stack.extend(node.args)
    return found


def check_hashable(root: Expr) -> None:
    """numexpr's error for a 0-d array constant left in the program (``copy(1)``), which its
    compiler cannot hash."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.op == "const" and isinstance(node.value, np.ndarray):
            raise TypeError("unhashable type: 'numpy.ndarray'")
        stack.extend(node.args)


def check_reductions_last(root: Expr) -> None:
    """numexpr's error for a reduction anywhere but at the root (its last check of a program)."""
    stack = list(root.args)
    while stack:
        node = stack.pop()
        if node.op in kinds.REDUCTIONS:
            raise RuntimeError("invalid program: reduction operations must occur last")
        stack.extend(node.args)


def check_axes_encode(root: Expr) -> None:
    """numexpr's ``TypeError`` for a reduction whose axis is a float (``sum(a, 1.0)``): it writes each
    axis into its program as a byte, after typing (a kind with no such reduction is its
    ``NotImplementedError`` first) and before its program's checks."""
    stack = [root]
    while stack:
        node = stack.pop()
        if node.op in kinds.REDUCTIONS and isinstance(node.value, float):
            raise TypeError("'float' object cannot be interpreted as an integer")
        stack.extend(node.args)
