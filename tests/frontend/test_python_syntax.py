"""fusenum's calls of Python's parser take turns (CPython's ``ast.parse`` is not safe to run in two
threads at once: python/cpython#106905)."""
import ast
import threading
import time

import numpy as np

import fusenum
import fusenum.numexpr as ne


def test_parses_from_many_threads_never_overlap(monkeypatch):
    real_parse = ast.parse
    inside, overlaps = [], []

    def slow_parse(*args, **kwargs):
        inside.append(threading.get_ident())
        if len(inside) > 1:
            overlaps.append(tuple(inside))
        time.sleep(0.001)  # long enough for the other threads to try
        try:
            return real_parse(*args, **kwargs)
        finally:
            inside.remove(threading.get_ident())

    monkeypatch.setattr(ast, "parse", slow_parse)
    x = np.arange(4.0)
    results, errors = {}, []

    def work(k: int) -> None:
        try:
            for i in range(12):  # new texts: every call parses
                results[k, i, "evaluate"] = fusenum.evaluate(f"x * {k} + {i} + 0.25", {"x": x})
                results[k, i, "numexpr"] = ne.evaluate(f"x * {k} - {i} - 0.5", {"x": x})
        except Exception as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and not overlaps
    for k in range(4):
        for i in range(12):
            np.testing.assert_array_equal(results[k, i, "evaluate"], x * k + i + 0.25)
            np.testing.assert_array_equal(results[k, i, "numexpr"], x * k - i - 0.5)
