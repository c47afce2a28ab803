"""Long flat chains of binary operators (``a+b+c+...`` over ten thousand columns) in the string front end.

Python's ``ast`` nests a left-associative chain one level per operator, and
refuses to build more than a few thousand levels (``RecursionError`` during ast
construction). Programs build such texts, so when ``ast.parse`` gives up the
text is cut, at its top level, before every :data:`BLOCK`-th operator of its
loosest binding level, into blocks that ``ast`` can parse. Every block after
the first is parsed with a placeholder name standing for everything before it:
``P + t1 + t2 ...``, so the placeholder is the left operand of the cut
operator exactly as the text before the cut was in the whole text -- the
expression is the same tree, only parsed in pieces.

What is not such a chain (a long chain inside parentheses or a call, a
comparison or keyword at the top level, thousands of unary minus signs) stays
"nests too deeply".
"""
from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from typing import Callable, Iterator

from .python_syntax import parse_expression

#: Binding level of each binary operator (higher binds tighter); only these are cut at.
LEVELS = {"|": 0, "^": 1, "&": 2, "<<": 3, ">>": 3, "+": 4, "-": 4, "*": 5, "/": 5, "//": 5, "%": 5, "@": 5}
#: Operators of the cut level per block: few enough for ``ast`` deep in a call stack.
BLOCK = 200
_TIGHTER = {"**", "~", "."}  # bind tighter than any binary operator in LEVELS: inside a term
_OPENERS, _CLOSERS = "([{", ")]}"
_OPERAND_ENDS = (tokenize.NUMBER, tokenize.STRING)


class NotAChain(Exception):
    """The text is not a top-level chain that :func:`blocks` can cut."""


def blocks(text: str) -> Iterator[tuple[str | None, ast.expression]]:
    """The parsed blocks of ``text``: ``(placeholder, tree)`` where ``placeholder`` is the name in
    ``tree`` that stands for the previous blocks (None for the first). Positions in the trees are
    ``ast``'s positions in ``text`` (lines from 1, columns in UTF-8 bytes of their line).
    :class:`NotAChain` if the text cannot be cut."""
    cuts = _cuts(text)
    if not cuts:
        raise NotAChain
    placeholder = _unused_name(text)
    starts = line_starts(text)
    offsets = [starts[row - 1] + col for row, col in cuts]
    bounds = [0, *offsets, len(text)]
    for k in range(len(bounds) - 1):
        piece = text[bounds[k]:bounds[k + 1]]
        if k == 0:
            yield None, _parse(piece, 0, 0)
        else:
            row, column = cuts[k - 1]
            line_start = starts[row - 1]
            byte_column = len(text[line_start:line_start + column].encode("utf-8"))
            yield placeholder, _parse(f"{placeholder} {piece}", byte_column - (len(placeholder) + 1), row - 1)


def _parse(piece: str, shift: int, lines: int) -> ast.expression:
    """``piece`` parsed, its first line's columns moved by ``shift`` and its lines by ``lines``."""
    try:
        tree = parse_expression(piece)
    except (SyntaxError, RecursionError, MemoryError):
        raise NotAChain from None
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) == 1:
            node.col_offset += shift
    return ast.increment_lineno(tree, lines) if lines else tree


def _cuts(text: str) -> list[tuple[int, int]]:
    """(row, column) of every ``BLOCK``-th top-level operator of the loosest level, if the top level
    is a chain of binary operators (and terms): else :class:`NotAChain`."""
    found: list[tuple[int, tuple[int, int]]] = []
    depth, ends_operand = 0, False
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            kind, string = token.type, token.string
            if kind == tokenize.OP and string in _OPENERS:
                depth += 1
            elif kind == tokenize.OP and string in _CLOSERS:
                depth -= 1
            elif depth == 0:
                _check_top_level(kind, string, ends_operand)
                if kind == tokenize.OP and string in LEVELS and ends_operand:
                    found.append((LEVELS[string], token.start))
            ends_operand = _ends_operand(kind, string)
    except (tokenize.TokenError, SyntaxError):
        raise NotAChain from None
    if not found:
        raise NotAChain
    loosest = min(level for level, _ in found)
    at_level = [position for level, position in found if level == loosest]
    return at_level[BLOCK - 1::BLOCK]


def _check_top_level(kind: int, string: str, ends_operand: bool) -> None:
    """:class:`NotAChain` for a top-level token binding looser than the binary operators."""
    if kind == tokenize.NAME and keyword.iskeyword(string) and string not in ("True", "False", "None"):
        raise NotAChain
    if kind == tokenize.OP and string not in LEVELS and string not in _TIGHTER:
        raise NotAChain  # comparisons, commas, '=', ':' ...
    if kind == tokenize.OP and string in LEVELS and not ends_operand and string not in "+-":
        raise NotAChain


def _ends_operand(kind: int, string: str) -> bool:
    if kind == tokenize.NAME:
        return not keyword.iskeyword(string) or string in ("True", "False", "None")
    return kind in _OPERAND_ENDS or (kind == tokenize.OP and string in _CLOSERS)


def _unused_name(text: str) -> str:
    name = "_fusenum_chain"
    while name in text:
        name += "_"
    return name


def line_starts(text: str) -> list[int]:
    """Where each line starts (tokenize's lines: ended by \\n, \\r\\n or \\r)."""
    if "\n" not in text and "\r" not in text:
        return [0]  # the usual one-line text; compiling the pattern is most of a first call's parse
    return [0] + [match.end() for match in re.finditer(r"\r\n|\r|\n", text)]


def convert(text: str, convert_block: Callable[[ast.AST, dict], tuple]) -> tuple:
    """The template of chain ``text``: each block converted by ``convert_block(tree_body, preset)``
    with ``preset`` mapping the block's placeholder to the template of the blocks before it."""
    template: tuple | None = None
    for placeholder, tree in blocks(text):
        template = convert_block(tree.body, {} if placeholder is None else {placeholder: template})
    return template
