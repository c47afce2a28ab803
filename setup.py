"""Building fusenum: its modules (``pyproject.toml`` says the rest), the start-up file
``fusenum-numexpr.pth`` (``_fusenum_numexpr.py`` says what it does), then the kernels shipped with it.

After copying the modules, ``build_py`` runs ``python -m fusenum ship`` on the copy: every one-node
kernel fusenum's interpreter may use, compiled for this machine's widest SIMD level, into
``fusenum/shipped_kernels`` (``fusenum/runtime/shipped.py`` says when they are used). An editable
install writes them into the source tree. ``FUSENUM_SHIP_KERNELS=off`` skips it; if it fails, the
package is built without them (kernels are then compiled on first use) and a warning says why
(``pip install -v`` shows it).
"""
import os
import shutil
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py


#: Beside the package in site-packages: ``FUSENUM_NUMEXPR=1`` for every process (``_fusenum_numexpr.py``).
STARTUP_FILE = "fusenum-numexpr.pth"


class BuildWithKernels(build_py):
    """``build_py``, then the start-up file and the shipped kernels."""

    def run(self):
        super().run()
        here = os.path.dirname(os.path.abspath(__file__))
        editable = getattr(self, "editable_mode", False)
        if not editable:  # (an editable install's site-packages holds only setuptools' own files)
            shutil.copyfile(os.path.join(here, STARTUP_FILE), os.path.join(self.build_lib, STARTUP_FILE))
        root = here if editable else os.path.abspath(self.build_lib)
        directory = os.path.join(root, "fusenum", "shipped_kernels")
        if not editable:  # (an earlier build's archives must not reach this package)
            shutil.rmtree(directory, ignore_errors=True)
        setting = os.environ.get("FUSENUM_SHIP_KERNELS", "").strip().lower() or "on"
        if setting not in ("on", "1", "yes", "true", "off", "0", "no", "false"):
            raise ValueError(f"FUSENUM_SHIP_KERNELS must be on or off, not {setting!r}")
        if setting in ("off", "0", "no", "false"):
            return
        environment = dict(os.environ, FUSENUM_CACHE="off", FUSENUM_COMPILE_AFTER_EXIT="off",
                           PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        command = [sys.executable, "-m", "fusenum", "ship", "--into", directory]
        try:
            done = subprocess.run(command, cwd=root, env=environment, timeout=1800)
            failed = f"exit status {done.returncode}" if done.returncode else None
        except (OSError, subprocess.TimeoutExpired) as exc:
            failed = str(exc)
        if failed:
            self.warn(f"fusenum is built without shipped kernels ({' '.join(command)}: {failed}); "
                      "they are compiled on first use instead")


setup(cmdclass={"build_py": BuildWithKernels})
