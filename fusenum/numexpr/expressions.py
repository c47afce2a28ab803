"""numexpr's expression objects: ``E.<name>``, :class:`ConstantNode`, and :func:`program` that compiles them.

    from fusenum.numexpr import E, NumExpr
    NumExpr(2.0 * E.a + 3.0 * E.b * E.c)      # as NumExpr("2.0*a + 3.0*b*c")

``E.a`` is a :class:`VariableNode`; Python's operators on nodes (arithmetic,
comparisons, ``& | ^ << >>``, unary ``-``, ``~`` and ``+``, ``.real``/``.imag``)
record an :class:`OpNode`, with numexpr's operand rules: a Python ``bool``,
``int``, ``float``, ``complex``, ``bytes`` or ``str`` (or a NumPy int32/float64)
becomes a constant, anything else is numexpr's ``TypeError``; the methods are
numexpr's (no reflected ``&``, ``|``, ``^``, ``//``; ``a < b`` is ``b > a``), and a
node in ``and``/``or``/``not`` or ``if`` is numexpr's ``TypeError``.
:class:`ConstantNode` keeps its value's kind (a Python float is ``double``,
``numpy.float32`` is ``float``, ``numpy.int64`` is ``long``).

A node records the template the text parser (:mod:`.syntax`) would give, and
:func:`program` turns it into the :class:`~fusenum.numexpr.lowering.Program` that
``NumExpr`` compiles, so an expression object means what the same text means,
with these differences from numexpr's own nodes:

* A variable takes the kind its ``NumExpr`` signature gives it (numexpr's ``E``
  variables are always ``double``; another signature fails there with
  ``RuntimeError: invalid : opcode signature doesn't match buffer``).
* ``/`` and ``**`` by constants are rewritten as ``NumExpr``'s ``optimization``
  says (default ``'aggressive'``), as for a text; numexpr applies the
  optimization of the thread's last compiled text when the operator ran
  (``'none'`` before the first), and the kinds of mixed strings and numbers are
  refused by ``NumExpr`` rather than by the operator.
* ``repr`` is the expression (``(E.a + 1)``), not numexpr's ``OpNode(add, ...)``;
  an :class:`OpNode` has :attr:`~ExpressionNode.astKind` but not numexpr's
  ``value``/``children``.

numexpr's other module contents (its node helpers, ``functions``, ``RawNode``,
``FuncNode``, the optimization context) are not provided: asking for one is an
``AttributeError`` that says so.
"""
from __future__ import annotations

import keyword

import numpy as np

from . import tree
from .lowering import Program
from .syntax import Parsed

__all__ = ["E", "Expression", "ExpressionNode", "VariableNode", "ConstantNode", "OpNode", "getKind",
           "isConstant", "default_kind"]

#: The kind of an ``E`` variable that no signature types.
default_kind = "double"
_COMPARISONS = frozenset({"<", "<=", ">", ">=", "==", "!="})
#: Marks the plan-cache key of an expression object's program (no text starts so: it is not Python).
_KEY_PREFIX = "E: "
#: numexpr's module names this module does not provide.
NOT_PROVIDED = ("Context", "FuncNode", "LeafNode", "RawNode", "_context", "allConstantNodes",
                "bestConstantType", "binop", "commonKind", "contains_func", "div_op", "double", "encode_axis",
                "func", "functions", "gen_reduce_axis_func", "get_optimization", "int_", "interpreter",
                "kind_rank", "kind_to_type", "long_", "max_int32", "min_int32", "ophelper", "pow_op",
                "rtruediv_op", "scalar_constant_types", "truediv_op", "type_to_kind", "where_func")


def isConstant(value) -> bool:
    """Whether numexpr takes ``value`` as a constant operand."""
    return isinstance(value, tree.SCALARS)


def getKind(value) -> str:
    """The kind numexpr gives a constant ``value`` (``'int'`` for a Python int that fits in 32 bits,
    ``'float'`` for a Python float: a :class:`ConstantNode` of one is ``'double'``)."""
    kind = tree.kinds.of_constant(value)
    return "float" if kind == "double" and type(value) is float else kind


class ExpressionNode:
    """A recorded expression; Python's operators on it record numexpr's operations."""

    __slots__ = ("_template",)
    astType = "generic"
    __hash__ = None  # (``==`` records a comparison, as numexpr's nodes do)

    def __init__(self, template: tuple):
        self._template = template

    @property
    def astKind(self) -> str:
        """numexpr's kind of the expression, every variable a ``double``."""
        return _build(self._template, "aggressive").kind

    def __repr__(self) -> str:
        return _text(self._template)

    def __bool__(self):
        raise TypeError(tree.BOOLEAN_MESSAGE)

    def __neg__(self) -> ExpressionNode:
        return OpNode(("unary", "-", self._template))

    def __invert__(self) -> ExpressionNode:
        return OpNode(("unary", "~", self._template))

    def __pos__(self) -> ExpressionNode:
        return self

    @property
    def real(self) -> ExpressionNode:
        return OpNode(("attr", self._template, "real"))

    @property
    def imag(self) -> ExpressionNode:
        return OpNode(("attr", self._template, "imag"))


def _operand(value) -> tuple:
    if isinstance(value, ExpressionNode):
        return value._template
    if isConstant(value):
        return ("const", tree.constant(value))
    raise TypeError(f"unsupported object type: {type(value)}")


def _binary(symbol: str, reflected: bool = False):
    def method(self, other):
        other = _operand(other)
        pair = (other, self._template) if reflected else (self._template, other)
        if symbol in _COMPARISONS:
            return OpNode(("compare", (symbol,), pair))
        return OpNode(("binary", symbol, *pair))

    method.__name__ = f"__{'r' if reflected else ''}{symbol}__"
    return method


# numexpr's reflected '+' and '*' are its '+' and '*' (the node first); it has no reflected '&', '|', '^', '//'.
for _symbol, _methods in (("+", ("add",)), ("-", ("sub", "rsub")), ("*", ("mul",)),
                        ("/", ("truediv", "rtruediv")), ("//", ("floordiv",)), ("**", ("pow", "rpow")),
                        ("%", ("mod", "rmod")), ("<<", ("lshift", "rlshift")), (">>", ("rshift", "rrshift")),
                        ("&", ("and",)), ("|", ("or",)), ("^", ("xor",)), ("<", ("lt",)), ("<=", ("le",)),
                        (">", ("gt",)), (">=", ("ge",)), ("==", ("eq",)), ("!=", ("ne",))):
    for _reflected, _name in enumerate(_methods):
        setattr(ExpressionNode, f"__{_name}__", _binary(_symbol, bool(_reflected)))
ExpressionNode.__radd__, ExpressionNode.__rmul__ = ExpressionNode.__add__, ExpressionNode.__mul__


class VariableNode(ExpressionNode):
    """``E.<name>``: the array bound to ``name``."""

    __slots__ = ()
    astType = "variable"

    def __init__(self, name: str):
        super().__init__(("name", name))

    @property
    def value(self) -> str:
        return self._template[1]

    @property
    def astKind(self) -> str:
        return default_kind

    children = ()


class ConstantNode(ExpressionNode):
    """A constant of numexpr's kind for ``value`` (a Python float is ``double``)."""

    __slots__ = ()
    astType = "constant"
    children = ()

    def __init__(self, value, children=None):  # (numexpr's signature; a constant has no children)
        super().__init__(("const", tree.constant(value)))

    @property
    def value(self):
        return self._template[1].value

    @property
    def astKind(self) -> str:
        return self._template[1].kind

    def __neg__(self) -> ConstantNode:
        return ConstantNode(-self.value)

    def __invert__(self) -> ConstantNode:
        return ConstantNode(~self.value)


class OpNode(ExpressionNode):
    """An operation recorded on nodes."""

    __slots__ = ()
    astType = "op"

    @property
    def value(self):
        raise AttributeError("fusenum.numexpr's OpNode does not provide numexpr's 'value' (its opcode): "
                             "NumExpr(node) compiles it, disassemble() lists it")

    @property
    def children(self):
        raise AttributeError("fusenum.numexpr's OpNode does not provide numexpr's 'children': "
                             "NumExpr(node) compiles it, disassemble() lists it")


class Expression:
    """The type of :data:`E`: ``E.<name>`` is the variable ``name``."""

    def __getattr__(self, name: str) -> VariableNode:
        if name.startswith("_"):
            raise AttributeError(name)
        if not name.isidentifier() or keyword.iskeyword(name):
            raise AttributeError(f"E.{name}: a variable's name must be a Python identifier")
        return VariableNode(name)


#: ``E.a`` is the variable ``a`` of an expression object.
E = Expression()


def _names(template: tuple, found: set[str]) -> set[str]:
    """The variables' names in ``template``, added to ``found``."""
    kind = template[0]
    if kind == "name":
        found.add(template[1])
    elif kind in ("unary", "binary"):
        for item in template[2:]:
            _names(item, found)
    elif kind == "compare":
        for item in template[2]:
            _names(item, found)
    elif kind == "attr":
        _names(template[1], found)
    return found


def _indexed(template: tuple, index: dict[str, int]) -> tuple:
    """``template`` with each name as its index in ``index`` (the parser's template)."""
    kind = template[0]
    if kind == "name":
        return ("name", index[template[1]])
    if kind == "const":
        return template
    if kind == "unary":
        return ("unary", template[1], _indexed(template[2], index))
    if kind == "binary":
        return ("binary", template[1], _indexed(template[2], index), _indexed(template[3], index))
    if kind == "compare":
        return ("compare", template[1], tuple(_indexed(item, index) for item in template[2]))
    return ("attr", _indexed(template[1], index), template[2])


def _written(template: tuple, constant) -> str:
    """The expression written out with full parentheses (``E.a`` for a variable), each constant as
    ``constant`` writes its value."""
    kind = template[0]
    if kind == "name":
        return f"E.{template[1]}"
    if kind == "const":
        return constant(template[1].value)
    if kind == "unary":
        return f"({template[1]}{_written(template[2], constant)})"
    if kind == "binary":
        return f"({_written(template[2], constant)} {template[1]} {_written(template[3], constant)})"
    if kind == "compare":
        left, right = template[2]
        return f"({_written(left, constant)} {template[1][0]} {_written(right, constant)})"
    return f"{_written(template[1], constant)}.{template[2]}"


def _text(template: tuple) -> str:
    """The expression as its ``repr`` writes it."""
    return _written(template, repr)


def _exact(value) -> str:
    """A constant by its type and bits (``nan`` and ``-nan``, ``1.0`` and ``float32(1.0)`` differ)."""
    exact = value if isinstance(value, (int, str, bytes)) else np.asarray(value).tobytes().hex()
    return f"{type(value).__name__}({exact!r})"


def _parsed(template: tuple) -> Parsed:
    names = tuple(sorted(_names(template, set())))
    index = {name: k for k, name in enumerate(names)}
    return Parsed(_KEY_PREFIX + _written(template, _exact), names, _indexed(template, index))


def _build(template: tuple, optimization: str) -> tree.Expr:
    parsed = _parsed(template)
    return tree.build(parsed.template, [default_kind] * len(parsed.names), optimization)


def program(node: ExpressionNode, optimization: str) -> Program:
    """The program ``NumExpr(node)`` compiles: the one of the text ``node`` writes out."""
    return Program(_parsed(node._template), optimization)


def __getattr__(name: str):
    if name in NOT_PROVIDED:
        raise AttributeError(f"fusenum.numexpr.expressions does not provide numexpr's {name!r}: it has E, "
                             "ConstantNode and the node classes, not numexpr's internals")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
