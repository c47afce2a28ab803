"""pandas on fusenum.numexpr: ``eval``, ``query`` and large-frame arithmetic, after ``install()``."""
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
import pandas.core.computation.check as check  # noqa: E402
import pandas.core.computation.expressions as expressions  # noqa: E402

import fusenum.numexpr as ne  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installed(monkeypatch):
    """fusenum.numexpr installed (pandas already imported), with every evaluate call counted."""
    calls = []
    evaluate = ne.evaluate

    def counting(*args, **kwargs):
        calls.append(args[0])
        return evaluate(*args, _frame_depth=kwargs.pop("_frame_depth", 3) + 1, **kwargs)

    ne.install()
    monkeypatch.setattr(ne, "evaluate", counting)
    yield calls
    ne.uninstall()


@pytest.fixture
def frame():
    rng = np.random.default_rng(3)
    n = 1000
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.normal(size=n),
                         "d": rng.normal(size=n), "i": rng.integers(-50, 50, n), "f": rng.random(n) > 0.5,
                         "s": rng.normal(size=n).astype(np.float32)})


def test_install_patches_the_numexpr_pandas_already_holds(installed):
    assert check.ne is ne and expressions.ne is ne and sys.modules["numexpr"] is ne
    assert check.NUMEXPR_INSTALLED and expressions.USE_NUMEXPR


def test_uninstall_restores_pandas():
    before = (sys.modules.get("numexpr"), check.ne, expressions.ne, expressions.USE_NUMEXPR)
    ne.install()
    ne.uninstall()
    assert (sys.modules.get("numexpr"), check.ne, expressions.ne, expressions.USE_NUMEXPR) == before


def test_dataframe_eval_runs_on_fusenum(installed, frame):
    result = frame.eval("a + b * c - d")
    expected = frame.eval("a + b * c - d", engine="python")
    pd.testing.assert_series_equal(result, expected)
    assert installed, "pandas did not call fusenum.numexpr.evaluate"


def test_dataframe_query_runs_on_fusenum(installed, frame):
    result = frame.query("a > b and c < d")
    expected = frame[(frame.a > frame.b) & (frame.c < frame.d)]
    pd.testing.assert_frame_equal(result, expected)
    assert installed


def test_pandas_eval_runs_on_fusenum(installed, frame):
    result = pd.eval("frame.a * 2 + frame.i", engine="numexpr")
    pd.testing.assert_series_equal(result, frame.a * 2 + frame.i)
    assert installed


def test_large_frame_arithmetic_runs_on_fusenum(installed):
    rng = np.random.default_rng(4)
    df1 = pd.DataFrame(rng.normal(size=(expressions._MIN_ELEMENTS // 4 + 1, 4)))
    df2 = pd.DataFrame(rng.normal(size=df1.shape))
    expressions.set_test_mode(True)
    try:
        squared = df1 ** 2
        combined = df1 + df2 * 3
        assert expressions.get_test_result() == [True, True, True]  # **, *, +
    finally:
        expressions.set_test_mode(False)
    np.testing.assert_array_equal(squared.to_numpy(), df1.to_numpy() ** 2)
    np.testing.assert_array_equal(combined.to_numpy(), df1.to_numpy() + df2.to_numpy() * 3)
    assert len(installed) >= 3


def test_int64_by_float32_in_large_frame_arithmetic_is_float32(installed, monkeypatch):
    monkeypatch.setattr(expressions, "_MIN_ELEMENTS", 10)
    a = pd.Series(np.arange(20, dtype=np.int64))
    b = pd.Series(np.arange(1, 21, dtype=np.float32))
    result = a / b
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result.to_numpy(), a.to_numpy().astype(np.float32) / b.to_numpy())


def test_a_power_of_a_half_is_cs_pow(installed, monkeypatch):
    # pandas passes the 0.5 as an operand, so numexpr runs its pow opcode: C's pow, not sqrt
    monkeypatch.setattr(expressions, "_MIN_ELEMENTS", 3)
    df = pd.DataFrame({"a": [-np.inf, -0.0, 4.0, -4.0], "s": np.array([-np.inf, -0.0, 4.0, 9.0], np.float32)})
    for result in [(df ** 0.5).a, df.eval("s ** 0.5")]:
        assert result.iloc[:3].tolist() == [np.inf, 0.0, 2.0] and not np.signbit(result.iloc[1])
    assert installed


def test_a_complex_column_to_a_whole_exponent_column_is_numexprs_power(installed):
    """numexpr squares a complex base for a whole exponent element by element: its signed zeros and
    overflow, not NumPy's power (which a constant exponent got right before; a column did not)."""
    real = pytest.importorskip("numexpr")
    df = pd.DataFrame({"z": [1e200 + 1e200j, -1 + 0j, 1 + 2j, -1j], "k": [-1, 2, -3, 1]})
    got = df.eval("z ** k").to_numpy()
    expected = real.evaluate("z ** k", local_dict={"z": df.z.to_numpy(), "k": df.k.to_numpy()})
    assert got.tobytes() == expected.tobytes() and installed


@pytest.mark.parametrize("expression, message", [
    ("~a", "couldn't find matching opcode for 'invert_dd'"),
    ("-f", "couldn't find matching opcode for 'neg_bb'"),
])
def test_unsupported_operations_raise_not_implemented_error(installed, frame, expression, message):
    with pytest.raises(NotImplementedError, match=message):
        frame.eval(expression)


def test_unary_plus_of_bools(installed, frame):
    result = frame.eval("+f")
    assert result.dtype == bool and result.tolist() == frame.f.tolist()


def test_invert_of_a_python_bool(installed):
    t = True
    result = pd.eval("~t", engine="numexpr")
    assert np.asarray(result).dtype == bool and not bool(result)  # Python's ~True would be -2
    assert installed


def test_small_integer_columns_compute_in_int32(installed, frame):
    small = frame.assign(k=frame.i.astype(np.int8))
    result = small.eval("k * k * k")
    assert result.dtype == np.int32  # NumPy (engine='python') would wrap around in int8
    np.testing.assert_array_equal(result.to_numpy(), small.k.to_numpy().astype(np.int32) ** 3)


def test_install_before_pandas_is_imported():
    code = ("import fusenum.numexpr as ne\nne.install()\n"
            "import numpy as np, pandas as pd\n"
            "import pandas.core.computation.expressions as ex\n"
            "df = pd.DataFrame({'a': np.arange(5.0), 'b': np.ones(5)})\n"
            "print(ex.ne is ne, df.eval('a + b').tolist(), df.query('a > 2').index.tolist())\n"
            "ne.uninstall()\n"
            "import numexpr\n"
            "print(numexpr is not ne, ex.ne is numexpr, numexpr.__version__)")
    result = _python(code)
    expected = ["True [1.0, 2.0, 3.0, 4.0, 5.0] [3, 4]", f"True True {importlib.metadata.version('numexpr')}"]
    assert result.stdout.split("\n")[:2] == expected, result.stderr


def _python(code: str) -> subprocess.CompletedProcess:
    """``code`` run by a fresh Python that imports this checkout's fusenum."""
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment,
                          timeout=120)


def test_python_m_runs_a_pandas_script_on_fusenum(tmp_path):
    script = tmp_path / "frames.py"
    script.write_text("import sys, numpy as np, pandas as pd, numexpr\n"
                      "df = pd.DataFrame({'a': np.arange(4.0)})\n"
                      "print(numexpr.__version__, df.eval('a * 2').tolist(), sys.argv[1:])\n")
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "fusenum.numexpr", str(script), "x"], capture_output=True,
                            text=True, env=environment, timeout=120)
    assert result.stdout.strip() == "2.14.2+fusenum [0.0, 2.0, 4.0, 6.0] ['x']", result.stderr


def test_a_python_int_beyond_int64_falls_back_to_numpy(installed, monkeypatch):
    # pandas evaluates with casting='safe': the uint64 2**63 is refused (TypeError), so pandas uses NumPy.
    monkeypatch.setattr(expressions, "_MIN_ELEMENTS", 10)
    s = pd.Series(np.arange(20, dtype=np.float64))
    assert (s + 2**63).iloc[:2].tolist() == [2.0**63, 2.0**63 + 1]
    assert int((s > 2**63).sum()) == 0
    assert (s + 2).iloc[:2].tolist() == [2.0, 3.0]
    assert _operators(installed) == ["+", ">", "+"]


def _operators(texts: list[str]) -> list[str]:
    """The operator of each of pandas' binary expressions (pandas 3 names the operands
    left_value/right_value, 2.x a_value/b_value)."""
    return [text.split()[1] for text in texts]


def test_a_column_named_like_a_numexpr_function_is_the_function(installed):
    # As with numexpr: ``where`` is numexpr's function, so its column cannot be read (pandas raises).
    df = pd.DataFrame({"where": [1.0, 2.0, 3.0], "y": [0.0, 1.0, 2.0]})
    with pytest.raises(TypeError, match="unsupported object type: <class 'function'>"):
        df.eval("where + y")
    with pytest.raises(TypeError, match="not supported between instances of 'function' and 'int'"):
        df.query("where > 1")


def test_a_size_mismatch_in_large_arithmetic_is_numpys_value_error(installed):
    # An Index over _MIN_ELEMENTS times a shorter array reaches numexpr: its error must read as
    # NumPy's, which pandas raises without numexpr ("operands could not be broadcast together with
    # shapes (1000001,) (3,) ").
    index = pd.Index(np.arange(expressions._MIN_ELEMENTS + 1, dtype=np.float64))
    with pytest.raises(ValueError) as ours:
        index * np.arange(3.0)
    assert _operators(installed) == ["*"]
    with pd.option_context("compute.use_numexpr", False):
        with pytest.raises(ValueError) as numpys:
            index * np.arange(3.0)
    assert str(ours.value) == str(numpys.value)


@pytest.fixture
def large():
    """Frames and a Series just over pandas' _MIN_ELEMENTS, where its arithmetic and where() use numexpr."""
    rng = np.random.default_rng(5)
    rows = expressions._MIN_ELEMENTS // 2 + 1
    df = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    ints = pd.DataFrame({"a": rng.integers(-9, 9, rows), "b": rng.integers(-9, 9, rows)})
    flags = pd.DataFrame({"a": rng.random(rows) > 0.5, "b": rng.random(rows) > 0.5})
    return df, ints, flags, pd.Series(rng.normal(size=2 * rows))


def _with_numpy(call):
    with pd.option_context("compute.use_numexpr", False):
        return call()


def _assert_same(result, expected) -> None:
    """Same type, labels, dtypes and values (as arrays: assert_frame_equal is slow on wide frames)."""
    assert type(result) is type(expected)
    assert result.index.equals(expected.index)
    if isinstance(result, pd.DataFrame):
        assert result.columns.equals(expected.columns) and result.dtypes.equals(expected.dtypes)
    else:
        assert result.dtype == expected.dtype
    np.testing.assert_array_equal(result.to_numpy(), expected.to_numpy(), strict=True)


def test_large_frame_arithmetic_and_comparisons_match_numpy(installed, large):
    # (exactly: these operations round as NumPy's, a power by a non-integer exponent would not; pandas
    # computes &, |, ^ of bools with NumPy, and + and * of bools with numexpr's | and &)
    df, ints, flags, series = large
    row, column = df.iloc[0], df["a"]
    # ``df ** -1`` is 1/df here; NumPy's own answer depends on its release and on how pandas calls it
    # (NumPy 2.0 under pandas 2.3 rounds 0.4% of these elements the other way): within one ULP
    reciprocal = _on_numexpr(lambda: df ** -1)
    np.testing.assert_array_max_ulp(reciprocal.to_numpy(), _with_numpy(lambda: df ** -1).to_numpy(), maxulp=1)
    calls = [lambda: df + df * 2, lambda: df - 1.5, lambda: 3 / df, lambda: df ** 2,
             lambda: df.add(row, axis=1), lambda: df.sub(column, axis=0), lambda: df > 0.5, lambda: df == df,
             lambda: ints * ints, lambda: ints / ints, lambda: ints - 7, lambda: ints <= ints.b.iloc[0],
             lambda: flags + flags, lambda: flags * True, lambda: series * series,
             lambda: -series + series.abs(), lambda: df.T * 2]
    for call in calls:
        _assert_same(_on_numexpr(call), _with_numpy(call))
    assert len(installed) >= len(calls) + 1


def _on_numexpr(call):
    """``call()``, checking that pandas took its numexpr path."""
    expressions.set_test_mode(True)
    try:
        result = call()
        used = expressions.get_test_result()
    finally:
        expressions.set_test_mode(False)
    assert used, "pandas did not take its numexpr path"
    return result


def test_large_where_and_mask_run_on_fusenum(installed, large):
    df, ints, flags, series = large
    for call in [lambda: df.where(df > 0, -df), lambda: df.mask(df > 0, 0.0), lambda: ints.where(ints > 0, 0),
                 lambda: flags.where(~flags, True), lambda: series.where(series > 0, 1.5)]:
        installed.clear()
        result = call()
        assert any(text.startswith("where(") for text in installed), installed
        _assert_same(result, _with_numpy(call))


def test_bool_subtraction_falls_back_with_pandas_warning(installed, large):
    # numexpr has no '-' for bools (NotImplementedError): pandas warns, then NumPy refuses it too.
    flags = large[2]
    with pytest.warns(UserWarning, match="'-' operator is not supported by numexpr for the bool dtype"):
        with pytest.raises(TypeError, match="numpy boolean subtract"):
            flags - flags
    assert _operators(installed) == ["-"]
    result = flags + flags  # (numexpr's '+' of bools is '|': no warning, as with numexpr 2.13.1 and later)
    pd.testing.assert_frame_equal(result, flags | flags)


def _default_engine() -> str:
    """The engine pandas' eval and query pick when none is named."""
    from pandas.core.computation.eval import _check_engine

    return _check_engine(None)


def test_the_use_numexpr_option_switches_fusenum_off_and_on(installed, large):
    series = large[3]
    with pd.option_context("compute.use_numexpr", False):
        assert not expressions.USE_NUMEXPR and _default_engine() == "python"
        series + series
    assert installed == []
    assert expressions.USE_NUMEXPR and expressions.ne is ne and _default_engine() == "numexpr"
    series + series
    assert _operators(installed) == ["+"]


def test_pandas_thread_setting_reaches_fusenum(installed):
    import fusenum

    before = ne.get_num_threads()
    try:
        expressions.set_numexpr_threads(1)
        assert ne.get_num_threads() == fusenum.get_num_threads() == 1
        if ne.detect_number_of_cores() <= ne.MAX_THREADS:  # (else numexpr refuses the count, as we do)
            expressions.set_numexpr_threads()  # (numexpr's count of the cores)
            assert fusenum.get_num_threads() == ne.detect_number_of_cores()
    finally:
        ne.set_num_threads(before)


@pytest.mark.parametrize("numexpr_before", ["absent", "blocked"])
def test_install_after_pandas_was_imported_without_a_usable_numexpr(numexpr_before):
    # pandas imported with no numexpr (or a version it blocks) takes fusenum.numexpr at install(),
    # and goes back to its own state at uninstall().
    setup = {"absent": "import sys; sys.modules['numexpr'] = None\n",
             "blocked": "import numexpr; numexpr.__version__ = '2.14.1'\n"}[numexpr_before]
    code = (setup +
            "import numpy as np, pandas as pd, warnings\n"
            "import pandas.core.computation.expressions as ex, pandas.core.computation.check as ck\n"
            "state = lambda: (ck.NUMEXPR_INSTALLED, ex.USE_NUMEXPR, ex._evaluate.__name__)\n"
            "before = state()\n"
            "import fusenum.numexpr as ne\n"
            "ne.install()\n"
            "warnings.simplefilter('error')\n"
            "big = pd.Series(np.arange(ex._MIN_ELEMENTS + 1.0))\n"
            "ex.set_test_mode(True); total = (big + big).iloc[-1]; used = ex.get_test_result()\n"
            "evaluated = pd.eval('big * 2', engine='numexpr').iloc[-1]\n"
            "print(before, state(), used, total, evaluated)\n"
            "ne.uninstall()\n"
            "print(state() == before)\n")
    if numexpr_before == "blocked" and not hasattr(expressions, "_evaluate_blocked"):
        pytest.skip(f"pandas {pd.__version__} blocks no numexpr release")
    result = _python(code)
    n = expressions._MIN_ELEMENTS
    evaluate = "_evaluate_standard" if numexpr_before == "absent" else "_evaluate_blocked"
    assert result.stdout.split("\n")[:2] == [
        f"(False, False, '{evaluate}') (True, True, '_evaluate_numexpr') [True] {2.0 * n} {2.0 * n}", "True"
    ], result.stderr
