"""Settings that are on or off or counts (fusenum.runtime.switches), and the modules that read them."""
import os
import subprocess
import sys

import pytest

from fusenum.runtime import disk_cache, exit_compiles, first_use
from fusenum.runtime.switches import on_or_off, whole_number

READERS = {"FUSENUM_COMPILE_AFTER_EXIT": exit_compiles.enabled, "FUSENUM_PREBUILD_AFTER_EXIT": first_use.enabled,
           "FUSENUM_CACHE": lambda: disk_cache._environment_settings()["enabled"]}


@pytest.mark.parametrize("variable", sorted(READERS))
@pytest.mark.parametrize("value, on", [("off", False), ("OFF", False), ("0", False), ("no", False), ("false", False),
                                       ("on", True), ("1", True), ("yes", True), (" True ", True), ("", True)])
def test_a_setting_is_on_or_off(monkeypatch, variable, value, on):
    monkeypatch.setenv(variable, value)
    assert on_or_off(variable) is on and READERS[variable]() is on


@pytest.mark.parametrize("variable", sorted(READERS))
def test_unset_is_on(monkeypatch, variable):
    monkeypatch.delenv(variable, raising=False)
    assert READERS[variable]() is True


@pytest.mark.parametrize("variable", sorted(READERS))
def test_any_other_value_is_a_configuration_error_at_import(variable):
    # (as every setting is: a typo must not silently mean on)
    done = subprocess.run([sys.executable, "-c", "import fusenum"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, variable: "maybe"})
    assert done.returncode != 0
    assert f"ConfigurationError: {variable} must be on or off (or 1/0, yes/no, true/false), not 'maybe'" in done.stderr


@pytest.mark.parametrize("text, number", [("0", 0), ("7", 7), ("0012", 12), ("99999999999999999999", 10**20 - 1),
                                          ("", None), ("1_0", None), ("+5", None), ("-1", None), (" 5", None),
                                          ("5.0", None), ("\u0663", None), ("\uff15", None), ("0x10", None)])
def test_a_count_is_ascii_digits_only(text, number):
    # (int() takes '1_0', '+5', ' 5' and other scripts' digits: no setting should)
    assert whole_number(text) == number


COUNT_SETTINGS = {"FUSENUM_NUM_THREADS": "a positive integer", "FUSENUM_MAX_KERNELS": "a positive integer",
                  "FUSENUM_CACHE_MAX_BYTES": "a number of bytes (an integer >= 0)"}


@pytest.mark.parametrize("variable", sorted(COUNT_SETTINGS))
@pytest.mark.parametrize("value", ["1_0", "\u0663", "+5"])
def test_a_count_setting_not_in_ascii_digits_is_an_error_at_import(variable, value):
    done = subprocess.run([sys.executable, "-c", "import fusenum"], capture_output=True, text=True, timeout=120,
                          env={**os.environ, variable: value})
    assert done.returncode != 0
    assert f"ConfigurationError: {variable} must be {COUNT_SETTINGS[variable]}, not {value!r}" in done.stderr
