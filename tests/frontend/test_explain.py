"""fusenum.explain and LazyArray.explain: what a call would run, described without running it."""
import re

import numpy as np
import pytest

import fusenum
from fusenum.codegen import mathlib
from fusenum.frontend import explain
from fusenum.runtime import background, kernels, preview, tiering


def _kernel_origins(text: str) -> list[str]:
    return re.findall(r"from: (.*)", text)


def test_string_expression_shows_typed_ir_target_and_kernel():
    a = np.arange(1000.0)
    b = np.ones(1000, np.float32)
    text = fusenum.explain("2*a + b*b")
    assert "  %1 = input b : float32" in text or "input b : float32" in text
    square = re.search(r"%(\d+) = multiply\(%(\d+), %\2\) : float32", text)
    assert square, text  # b*b: one input node used twice
    assert re.search(r"= add\(%\d+, %\d+\) : float64", text)
    assert "result: float64 (1000,)" in text
    assert f"target: SIMD {fusenum.get_simd()}" in text
    assert f"tier: {preview.COMPILED_FIRST}" in text  # the tests' policy: nothing compiled yet
    assert "fast path (checked kernel)" in text
    assert "layouts (innermost dimension): a: contiguous, b: contiguous, out: contiguous" in text


def test_describes_without_compiling_then_reports_memory_after_the_call():
    a = np.arange(777.0)
    # an earlier test's kernels, compiled or re-optimized in the background, would add to the counts
    assert tiering.wait_for_compiles(120) and background.wait(120)
    fusenum.clear_cache()
    before = fusenum.cache_info()
    text = fusenum.explain("a * 3.5 - 1")
    # nothing compiled, nothing counted (the text's typed plan may have gone to the disk cache)
    assert fusenum.cache_info()._replace(disk_bytes=before.disk_bytes) == before
    assert _kernel_origins(text) == [explain._NOT_IN_MEMORY[fusenum.get_tiering()]]
    fusenum.evaluate("a * 3.5 - 1")
    (origin,) = _kernel_origins(fusenum.explain("a * 3.5 - 1"))
    assert re.fullmatch(r"memory \((compiled|loaded from the disk cache) in \d+\.\d ms"
                        r"(; its quick build, until the optimized build arrives)?\)", origin)


def test_explain_does_not_change_results():
    a = np.linspace(-3, 3, 2001)
    expected = fusenum.evaluate("sum(a*a) - a")
    fusenum.clear_cache()
    fusenum.explain("sum(a*a) - a")
    np.testing.assert_array_equal(fusenum.evaluate("sum(a*a) - a"), expected)


def test_general_path_strided_operand():
    a = np.arange(40.0).reshape(4, 10)[:, ::2]
    b = np.ones(5)
    text = fusenum.explain("a + b")
    assert "general, coalesced shape (4, 5), 2 dimensions" in text
    assert "a: strided, b: contiguous, out: contiguous" in text


def test_reduction_stages():
    x = np.ones((4, 5))
    text = fusenum.explain("x - mean(x, axis=0)")
    assert "%1 = mean(%0, axis=0) : float64" in text
    assert "stage 1 of 2: reduction mean(axis=0) -> float64 (5,)" in text
    assert "divided by the count" in text
    assert "stage 2 of 2: final elementwise expression -> float64 (4, 5)" in text
    assert "input stage 1 : float64" in text
    assert "accumulator:" in text


def test_whole_reduction_is_one_stage():
    x = np.ones(100, np.float32)
    text = fusenum.explain("sum(x * 2)")
    assert "stage 1 of 1: reduction sum(axis=None) -> float32 ()" in text
    assert "pairwise sums" in text
    assert "reduced axis innermost" in text


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_math_function_implementation_is_named(simd, dtype):
    a = np.ones(64, dtype)
    text = fusenum.explain("exp(a)")
    chosen = mathlib.implementation("exp", np.dtype(dtype), simd)
    kind, _, symbol = chosen.partition(":")
    line = re.search(r"math: exp on (\w+): (.*)", text)
    assert line and line.group(1) == np.dtype(dtype).name
    assert line.group(2) == {"own": "fusenum's own vector code", "libmvec": f"libmvec {symbol}",
                             "libm": f"C library {symbol}, lane by lane"}[kind]


def test_complex_expression():
    z = np.array([1 + 2j, 3 - 1j])
    text = fusenum.explain("sqrt(z) * 2 + abs(z)")
    assert "input z : complex128" in text
    assert "math: csqrt on complex128: C library csqrt, lane by lane" in text
    assert re.search(r"absolute\(%\d+\) : float64", text)
    assert "result: complex128 (2,)" in text


def test_python_scalar_operand_is_weak():
    a = np.ones(10, np.float32)
    x = 2.5
    text = fusenum.explain("a * x")
    assert "x: Python float 2.5 (weak scalar)" in text
    assert "input x (Python float as float32) : float32" in text
    assert "x (Python float as float32): one value" in text


def test_explicit_dicts_and_out():
    a = np.ones(8)
    out = np.empty(8, np.float32)
    text = fusenum.explain("a + 1", {"a": a}, {}, out=out, casting="same_kind")
    assert "general, coalesced shape (8,)" in text
    assert "note: the kernel casts each result to float32 (out's dtype) as it stores it" in text


def test_lazy_array_explain():
    a = np.arange(10.0)
    x = fusenum.lazy(a)
    r = x * 2 + np.sin(x)
    text = r.explain()
    assert text.startswith("LazyArray.explain(): float64 (10,)")
    assert "lazy operand 1: Python int 2 (weak scalar)" in text
    assert len(re.findall(r"= input lazy operand 0 : float64", text)) == 1  # one array, one node
    assert re.search(r"math: sin on float64", text)
    assert not r.is_forced
    assert fusenum.explain(r) == text
    r.compute()
    assert "already computed" in r.explain()


def test_explanation_shows_as_text_at_the_prompt():
    a = np.ones(3)
    text = fusenum.explain("a + a")
    assert isinstance(text, str) and repr(text) == str(text)


def test_llvm_ir_on_request(simd):
    a = np.ones(16)
    assert "define" not in fusenum.explain("a + 1")
    text = fusenum.explain("a + 1", llvm=True)
    assert "LLVM IR of stage 1:" in text
    assert re.search(r"define .*@fusenum_kernel|define ", text)


_VECTOR_REGISTER = {"sse2": r"\bxmm\d", "avx2": r"\bymm\d", "avx512": r"\bzmm\d", "scalar": r"\baddsd\b"}


def test_assembly_on_request_uses_the_simd_level(simd):
    a = np.ones(16)
    text = fusenum.explain("a + 1.5", assembly=True)
    assert f"assembly of stage 1 ({simd}):" in text
    assert re.search(_VECTOR_REGISTER[simd], text.split("assembly of stage 1")[1])
    if simd == "sse2":
        assert not re.search(r"\b[yz]mm\d", text)


def test_unknown_name_is_the_error_evaluate_raises():
    with pytest.raises(fusenum.ExpressionError) as evaluated:
        fusenum.evaluate("a + nonexistent_name_q", {"a": np.ones(2)}, {})
    with pytest.raises(fusenum.ExpressionError) as explained:
        fusenum.explain("a + nonexistent_name_q", {"a": np.ones(2)}, {})
    assert str(explained.value) == str(evaluated.value)
    assert "unknown name 'nonexistent_name_q'" in str(explained.value)


def test_invalid_expression_and_bad_operands_raise_as_the_call_does():
    with pytest.raises(fusenum.ExpressionError, match="attribute access"):
        fusenum.explain("a.T", {"a": np.ones(2)}, {})
    with pytest.raises(ValueError, match="could not be broadcast together"):
        fusenum.explain("a + b", {"a": np.ones(2), "b": np.ones(3)}, {})
    with pytest.raises(ValueError, match="zero-size array to reduction operation maximum"):
        fusenum.explain("max(a)", {"a": np.ones(0)}, {})


def test_lazy_with_dicts_is_a_type_error():
    with pytest.raises(fusenum.ArgumentTypeError,
                       match="local_dict and global_dict do not apply to a LazyArray"):
        fusenum.explain(fusenum.lazy(np.ones(2)) + 1, {"a": 1})


def test_each_stage_of_a_call_with_reductions_says_its_tier():
    x = np.arange(20.0).reshape(4, 5)
    previous = fusenum.set_tiering("never")
    try:
        fusenum.clear_cache()
        assert fusenum.explain("x - mean(x, axis=0)").count(f"\n  tier: {preview.COMPILED_FIRST}\n") == 2
        fusenum.evaluate("x - mean(x, axis=0)")
        assert fusenum.explain("x - mean(x, axis=0)").count("\n  tier: compiled kernel\n") == 2
        fusenum.set_tiering("always")
        assert fusenum.explain("x - mean(x, axis=0)").count(f"\n  tier: {preview.INTERPRETED}\n") == 2
    finally:
        fusenum.set_tiering(previous)
        fusenum.clear_cache()
    single = fusenum.explain("x * 2")
    assert single.count("tier: ") == 1  # one stage: the call's line alone


def test_kernel_records_origin_and_time():
    a = np.ones(33, np.int16)
    fusenum.evaluate("a + 7", {"a": a})
    held = list(kernels._kernels.values())
    assert held and all(k.origin in ("compiled", "disk") and k.seconds > 0 for k in held)


def test_tier_line_follows_the_policy_and_the_kernel_cache():
    a = np.arange(500.0)
    previous = fusenum.set_tiering("auto")
    try:
        fusenum.clear_cache()
        assert f"tier: {preview.INTERPRETED_MEANWHILE}" in fusenum.explain("a * 4.25")
        fusenum.set_tiering("always")
        assert f"tier: {preview.INTERPRETED}" in fusenum.explain("a * 4.25")
        fusenum.set_tiering("auto")
        fusenum.evaluate("a * 4.25")
        fusenum.evaluate("a * 4.25")  # the second call asks for the kernel
        tiering.wait_for_compiles()
        assert "tier: compiled kernel\n" in fusenum.explain("a * 4.25")
    finally:
        fusenum.set_tiering(previous)


@pytest.mark.parametrize("k", [300, 2**63])
def test_a_python_int_its_operation_cannot_hold_raises_as_the_call_does(k):
    a = np.arange(3, dtype=np.int8)  # (contiguous: the call's fast path, which converts k last)
    with pytest.raises(OverflowError) as evaluated:
        fusenum.evaluate("a + k", {"a": a, "k": k}, {})
    with pytest.raises(OverflowError) as explained:
        fusenum.explain("a + k", {"a": a, "k": k}, {})
    assert str(explained.value) == str(evaluated.value)


@pytest.mark.parametrize("ex", [42, b"a + 1", None])
def test_an_expression_of_another_type_is_the_error_evaluate_raises(ex):
    with pytest.raises(fusenum.ArgumentTypeError) as evaluated:
        fusenum.evaluate(ex, {"a": np.ones(2)}, {})
    with pytest.raises(fusenum.ArgumentTypeError) as explained:
        fusenum.explain(ex, {"a": np.ones(2)}, {})
    assert str(explained.value) == str(evaluated.value)


# ---- integer powers by negative exponents ----------------------------------------------------------

_NEGATIVE_POWER = "^Integers to negative integer powers are not allowed.$"
_INTEGERS = {"a": np.arange(1, 5), "a2": np.arange(1, 7).reshape(2, 3), "k": -1, "j": 2}


@pytest.mark.parametrize("text", ["a ** -1", "a ** k", "a ** (j - 3)", "sum(a) ** -1", "sum(a ** -1)",
                                  "a2 - max(a2 ** k, axis=0)", "where(a > 10, a ** -1, 0)"])
def test_an_integer_power_by_a_negative_constant_or_scalar_raises_as_the_call_does(text):
    with pytest.raises(ValueError, match=_NEGATIVE_POWER):
        eval(text.replace("sum", "np.sum").replace("max", "np.max").replace("where", "np.where"),
             {"np": np}, dict(_INTEGERS))
    with pytest.raises(ValueError, match=_NEGATIVE_POWER):
        fusenum.evaluate(text, dict(_INTEGERS), {})
    with pytest.raises(ValueError, match=_NEGATIVE_POWER):
        fusenum.explain(text, dict(_INTEGERS), {})


def test_a_lazy_integer_power_by_a_negative_scalar_raises_as_forcing_does():
    for r in (fusenum.lazy(np.arange(1, 5)) ** -1, np.power(fusenum.lazy(np.arange(1, 5)).sum(), -1)):
        with pytest.raises(ValueError, match=_NEGATIVE_POWER):
            r.explain()
        with pytest.raises(ValueError, match=_NEGATIVE_POWER):
            fusenum.explain(r)
        with pytest.raises(ValueError, match=_NEGATIVE_POWER):
            r.compute()


def test_the_calls_earlier_errors_come_first():
    names = {"a": np.arange(3, dtype=np.int8), "k": 300}
    for call in (fusenum.evaluate, fusenum.explain):  # (the scalar's conversion, before the kernel runs)
        with pytest.raises(OverflowError, match="300"):
            call("a ** -1 + k", names, {})


@pytest.mark.parametrize("text", ["b ** -1", "sum(b ** -1)", "a ** -1.0", "a ** j", "a ** u"])
def test_no_error_where_no_integer_power_by_a_negative_exponent_runs(text):
    names = {**_INTEGERS, "b": np.arange(0), "u": np.arange(4, dtype=np.uint8)}  # (b: empty)
    fusenum.evaluate(text, dict(names), {})
    assert preview.NEGATIVE_POWER_NOTE not in fusenum.explain(text, dict(names), {})


def _without_kernel_state(text: str) -> list[str]:
    return [line for line in text.splitlines() if not line.lstrip().startswith(("from:", "tier:"))]


@pytest.mark.parametrize("text, stage", [("a ** e", "1 of 1"), ("sum(a ** e)", "1 of 1"),
                                         ("a ** (sum(e) - 6)", "2 of 2")])
def test_an_integer_exponent_from_the_arrays_is_noted_on_the_stage_that_computes_it(text, stage):
    a, negative, positive = np.arange(1, 5), np.array([1, -1, 2, 3]), np.array([1, 2, 2, 3])
    with pytest.raises(ValueError, match=_NEGATIVE_POWER):
        fusenum.evaluate(text, {"a": a, "e": negative}, {})
    fusenum.evaluate(text, {"a": a, "e": positive}, {})
    explained = fusenum.explain(text, {"a": a, "e": negative}, {})
    # explain reads no values (what it says of kernels and tiers may change as kernels compile meanwhile)
    same = fusenum.explain(text, {"a": a, "e": positive}, {})
    assert _without_kernel_state(explained) == _without_kernel_state(same)
    noted = [part for part in explained.split("\nstage ") if f"note: {preview.NEGATIVE_POWER_NOTE}" in part]
    assert len(noted) == 1 and noted[0].startswith(stage), explained
    assert "Integers to negative integer powers are not allowed." in preview.NEGATIVE_POWER_NOTE
    assert f"note: {preview.NEGATIVE_POWER_NOTE}" in (fusenum.lazy(a) ** negative).explain()


def test_a_broadcast_view_copied_for_a_computed_exponent_is_explained_as_run():
    """``x ** (e * 1)`` runs on a copy of the broadcast view ``e`` (NumPy's loop sees a new array
    there); ``x ** e`` on the view itself, single-valued."""
    x, e = np.arange(16.0), np.broadcast_to(0.5, (16,))
    computed = fusenum.explain("x ** (e * 1)", {"x": x, "e": e})
    direct = fusenum.explain("x ** e", {"x": x, "e": e})
    assert "e: contiguous" in computed and "e: one value" not in computed
    assert "e: one value" in direct


def test_the_tier_and_origin_lines_say_what_the_policy_does():
    # (under 'always' the call never compiles the fused kernel; a big call under 'auto' waits for it)
    a, big = np.arange(500.0), np.ones(tiering.COMPILE_NOW_ELEMENTS)
    previous = fusenum.set_tiering("always")
    try:
        assert _kernel_origins(fusenum.explain("a * 5.25")) == ["not in memory: the call does not use it "
                                                                "(tiering policy 'always')"]
        fusenum.set_tiering("never")
        assert _kernel_origins(fusenum.explain("a * 5.25")) == ["not in memory yet: the call loads it from the "
                                                                "disk cache, or compiles it"]
        fusenum.set_tiering("auto")
        assert f"tier: {preview.BIG_WAITS}\n" in fusenum.explain("big * 5.25 + 1")
        assert f"tier: {preview.INTERPRETED_MEANWHILE}\n" in fusenum.explain("a * 5.25 + 1")
    finally:
        fusenum.set_tiering(previous)


@pytest.mark.parametrize("switch", ["llvm", "assembly"])
@pytest.mark.parametrize("value", ["no", [0], 1, None])
def test_llvm_and_assembly_take_booleans_only(switch, value):
    a = np.arange(3.0)
    with pytest.raises(fusenum.ArgumentTypeError, match=f"explain's {switch} must be True or False"):
        fusenum.explain("a + 1", **{switch: value})
    with pytest.raises(fusenum.ArgumentTypeError, match=f"explain's {switch} must be True or False"):
        fusenum.lazy(a).explain(**{switch: value})


def test_a_view_of_an_unforced_array_explains_computing_that_array():
    # (forced alone, x[1:] is NumPy's view of x's value: the whole of x is computed, as explain now says)
    a = np.array([[np.nan, 1.0], [np.nan, np.nan], [2.0, 3.0]])
    x = np.nanmax(fusenum.lazy(a) * 1, axis=1)
    for view in (x[1:], x[None], (fusenum.lazy(a) * 1j).real):
        text = str(view.explain())
        assert "a view of another lazy array" in text and "forcing computes that whole array" in text
    assert "result: float64 (3,)" in str(x[1:].explain())
    assert "a view of another" not in str((x[1:] + 1).explain())  # (fused: only the selected rows)
    np.asarray(x[1:])
    assert x.is_forced
