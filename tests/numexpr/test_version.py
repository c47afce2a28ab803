"""``fusenum.numexpr.version``: numexpr's version module, with fusenum's local part."""
import platform

import pytest

import fusenum.numexpr as ne


def test_version_is_numexprs_module():
    assert ne.version.version == ne.version.__version__ == ne.__version__ == "2.14.2+fusenum"
    assert ne.version.platform_machine == platform.machine()
    with pytest.raises(AttributeError, match="does not provide numexpr's 'numpy_build_version'"):
        ne.version.numpy_build_version
