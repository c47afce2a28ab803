"""Building fusenum: its modules (``pyproject.toml`` says the rest), then the kernels shipped with it.

After copying the modules, ``build_py`` runs ``python -m fusenum ship`` on the copy: every one-node
kernel fusenum's interpreter may use, compiled for each SIMD level this machine has, into
``fusenum/shipped_kernels`` (``fusenum/runtime/shipped.py`` says when they are used). An editable
install writes them into the source tree. ``FUSENUM_SHIP_KERNELS=off`` skips it; if it fails, the
package is built without them (kernels are then compiled on first use) and a warning says why.
"""
import os
import subprocess
import sys

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildWithKernels(build_py):
    """``build_py``, then the shipped kernels."""

    def run(self):
        super().run()
        if os.environ.get("FUSENUM_SHIP_KERNELS", "").strip().lower() in ("off", "0", "no", "false"):
            return
        here = os.path.dirname(os.path.abspath(__file__))
        root = here if getattr(self, "editable_mode", False) else os.path.abspath(self.build_lib)
        environment = dict(os.environ, FUSENUM_CACHE="off", FUSENUM_COMPILE_AFTER_EXIT="off",
                           PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
        command = [sys.executable, "-m", "fusenum", "ship", "--into", os.path.join(root, "fusenum", "shipped_kernels")]
        try:
            done = subprocess.run(command, cwd=root, env=environment)
            failed = f"exit status {done.returncode}" if done.returncode else None
        except OSError as exc:
            failed = str(exc)
        if failed:
            self.warn(f"fusenum is built without shipped kernels ({' '.join(command)}: {failed}); "
                      "they are compiled on first use instead")


setup(cmdclass={"build_py": BuildWithKernels})
