"""Python's parser (:func:`ast.parse`) for expression texts, one thread at a time.

CPython keeps the recursion depth of ``ast.parse``'s conversion into Python objects in
per-interpreter state (python/cpython#106905): two threads parsing at once can make one of them
fail with ``SystemError: AST constructor recursion depth mismatch`` (a test evaluating new
expressions on eight threads hit it). Parsing an expression takes microseconds, so fusenum's
parses take turns; code outside fusenum that calls ``ast.parse`` meanwhile is not covered.
"""
from __future__ import annotations

import ast

from ..codegen import locks

# Reentrant: a finalizer run by a collection during a parse may evaluate an expression itself;
# unlocked in a forked child, which another thread's parse must not leave locked.
_lock = locks.lock()


def parse_expression(text: str, filename: str = "<unknown>") -> ast.Expression:
    """``ast.parse(text, filename, mode="eval")``, with no other fusenum parse at the same time, and
    the SyntaxError Python's compiler (not its parser) gives for a keyword argument repeated, and
    the SyntaxError of Python 3.12 for a null byte on every version."""
    if "\0" in text:  # (Python before 3.11.4 raises ValueError for it, not SyntaxError)
        raise SyntaxError("source code string cannot contain null bytes",
                          (filename, 1, text.index("\0") + 1, text))
    with _lock:
        tree = ast.parse(text, filename, mode="eval")
    for node in ast.walk(tree) if "=" in text else ():  # (a keyword argument needs an "=")
        if isinstance(node, ast.Call):
            seen = set()
            for keyword in node.keywords:
                if keyword.arg in seen:
                    raise SyntaxError(f"keyword argument repeated: {keyword.arg}",
                                      (filename, keyword.lineno, keyword.col_offset + 1, text))
                if keyword.arg is not None:
                    seen.add(keyword.arg)
    return tree
