"""install(): which ``numexpr.X`` imports work while fusenum.numexpr stands in for numexpr."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import sys
{before}
import fusenum.numexpr as ne
ne.install()
for name in ("numexpr.necompiler", "numexpr.interpreter", "numexpr.kinds", "numexpr.api"):
    try:
        __import__(name)
        print(name, "imported")
    except ModuleNotFoundError as error:
        print(name, error.name)
import numexpr.utils, numexpr.expressions, numexpr.version
print(numexpr.utils.__name__, numexpr.expressions.__name__)
ne.uninstall()
import numexpr.necompiler
print(type(numexpr.necompiler).__name__, numexpr.necompiler.__name__, "numexpr.kinds" in sys.modules)
"""


@pytest.mark.parametrize("before", ["", "import numexpr", "import pandas"])
def test_other_submodules_are_not_found_while_installed(before):
    # pandas imports the real numexpr, whose submodules (necompiler...) sat in sys.modules: importing
    # one gave the real module under fusenum.numexpr; one of this package's own (kinds) a second copy
    pytest.importorskip("numexpr")
    if before == "import pandas":
        pytest.importorskip("pandas")
    result = subprocess.run([sys.executable, "-c", SCRIPT.format(before=before)], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=120)
    assert result.stdout.splitlines() == [
        "numexpr.necompiler numexpr.necompiler", "numexpr.interpreter numexpr.interpreter",
        "numexpr.kinds numexpr.kinds", "numexpr.api numexpr.api",
        "fusenum.numexpr.utils fusenum.numexpr.expressions",
        "module numexpr.necompiler False"], result.stderr
