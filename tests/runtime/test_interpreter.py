"""Tier 0's large calls: blocks shared between threads give the kernel's bits and its errors."""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import fusenum
from fusenum.runtime import interpreter
from fusenum.runtime import threads as threads_module

from ..strategies import DTYPES
from .test_tiers import assert_bits, both_tiers, cases, check_out_in_both_tiers


@contextmanager
def shared_from(elements: int, block: int, threads: int = 3):
    """Calls of ``elements`` or more run in blocks of ``block``, shared between ``threads``."""
    saved = interpreter.LARGE_ELEMENTS, interpreter.LARGE_BLOCK
    interpreter.LARGE_ELEMENTS, interpreter.LARGE_BLOCK = elements, block
    interpreter.clear()
    previous = fusenum.set_num_threads(threads)
    try:
        yield
    finally:
        interpreter.LARGE_ELEMENTS, interpreter.LARGE_BLOCK = saved
        interpreter.clear()
        fusenum.set_num_threads(previous)


@contextmanager
def counting_shares():
    """A list that gets the number of ranges of every shared call made in the block."""
    counts: list[int] = []
    original = threads_module.run_python

    def spy(function, ranges, threads):
        counts.append(len(ranges))
        return original(function, ranges, threads)
    threads_module.run_python = spy
    try:
        yield counts
    finally:
        threads_module.run_python = original


@given(cases())
def test_shared_blocks_give_the_kernels_bits(simd, case):
    tree, values = case
    with shared_from(2, 2):
        expected, got = both_tiers(lambda: fusenum.evaluate(tree.text(), local_dict=values))
    if expected is not None:
        assert_bits(expected, got)


@given(cases(), st.sampled_from(DTYPES), st.booleans(), st.sampled_from(["K", "C", "F"]))
def test_shared_blocks_write_out_like_the_kernel(simd, case, out_dtype, swapped, order):
    with shared_from(2, 2):
        check_out_in_both_tiers(case, out_dtype, swapped, order)


@pytest.mark.parametrize("threads", [1, 2, 3, 5])
def test_a_large_call_is_shared_in_ranges_of_blocks(threads):
    rng = np.random.default_rng(3)
    size = 2 * interpreter.LARGE_ELEMENTS + 123  # not a whole number of blocks
    a = rng.random(size)
    b = rng.random(size).astype(">f4")  # byte-swapped, cast in the iterator's buffers
    c = rng.random((size, 2))[:, 1]  # strided
    names = {"a": a, "b": b, "c": c}
    text = "sin(a) * b + where(a > c, c, 2.5)"
    previous = fusenum.set_num_threads(threads)
    try:
        with counting_shares() as counts:
            expected, got = both_tiers(lambda: fusenum.evaluate(text, local_dict=names))
    finally:
        fusenum.set_num_threads(previous)
    assert_bits(expected, got)
    if threads == 1:
        assert counts == []
    else:  # at least one range per thread, none longer than MAX_RANGE_ELEMENTS
        (ranges,) = counts
        assert ranges >= threads and ranges * interpreter.MAX_RANGE_ELEMENTS >= size


def test_a_small_call_runs_on_the_calling_thread():
    a = np.arange(interpreter.LARGE_ELEMENTS - 1, dtype=np.float64)
    with counting_shares() as counts:
        expected, got = both_tiers(lambda: fusenum.evaluate("a * 2 + 1", local_dict={"a": a}))
    assert_bits(expected, got)
    assert counts == []


@pytest.mark.parametrize("where", [0, -1])
def test_an_error_in_any_share_is_raised(where):
    """A one-node kernel's error (a negative integer power) raised by the calling thread's share
    or a worker's is the call's error, raised once every share is done."""
    exponent = np.ones(1000, np.int64)
    exponent[where] = -1
    names = {"a": np.arange(1000, dtype=np.int64), "e": exponent}
    with shared_from(10, 10), pytest.raises(ValueError, match="negative integer powers"):
        previous = fusenum.set_tiering("always")
        try:
            fusenum.evaluate("a ** e", local_dict=names)
        finally:
            fusenum.set_tiering(previous)


def test_shares_are_computed_whatever_the_thread_count():
    rng = np.random.default_rng(8)
    a, b = rng.random(10_001), rng.random(10_001)
    previous = fusenum.set_tiering("always")
    try:
        results = []
        for threads in (1, 2, 3, 7):
            with shared_from(1000, 64, threads):
                results.append(fusenum.evaluate("exp(a) - b * cos(a)", local_dict={"a": a, "b": b}))
    finally:
        fusenum.set_tiering(previous)
    for result in results[1:]:
        assert_bits(results[0], result)
