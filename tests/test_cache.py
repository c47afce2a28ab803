"""The kernel cache: hits, misses, entries; repeated calls re-parse and re-type nothing."""
import numpy as np
import pytest

import fusenum
from fusenum import evaluation


@pytest.fixture(autouse=True)
def empty_cache():
    fusenum.clear_cache()
    yield
    fusenum.clear_cache()


def test_first_call_compiles_later_calls_hit():
    a, b = np.ones(10), np.ones(10)
    fusenum.evaluate("a + b")
    assert fusenum.cache_info() == (0, 1, 1)
    fusenum.evaluate("a + b")
    fusenum.evaluate("a + b")
    assert fusenum.cache_info() == fusenum.CacheInfo(hits=2, misses=1, entries=1)


def test_new_dtypes_compile_a_new_kernel():
    a = np.ones(10)
    fusenum.evaluate("a * 2")
    a = np.ones(10, np.float32)
    fusenum.evaluate("a * 2")
    assert fusenum.cache_info().entries == 2


def test_equal_expressions_share_one_kernel():
    a, b = np.ones(5), np.ones(5)
    x, y = a, b
    fusenum.evaluate("a + b * 2")
    fusenum.evaluate("x + y * 2")
    assert fusenum.cache_info().entries == 1


def test_repeated_call_does_not_parse_or_type_again(monkeypatch):
    a = np.ones(5)
    fusenum.evaluate("a * 3")
    calls = []
    monkeypatch.setattr(evaluation, "parse", lambda text: calls.append(text))
    monkeypatch.setattr(evaluation, "_make_plan", lambda *args: calls.append(args))
    fusenum.evaluate("a * 3")
    assert calls == []


def test_python_scalar_variables_reuse_one_kernel():
    a = np.ones(5)
    for k in range(20):
        np.testing.assert_array_equal(fusenum.evaluate("a * k"), a * k)
    assert fusenum.cache_info().entries == 1


def test_clear_cache_resets():
    a = np.ones(3)
    fusenum.evaluate("a - 1")
    fusenum.clear_cache()
    assert fusenum.cache_info() == (0, 0, 0)
