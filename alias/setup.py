"""
``pip install ./alias``: the opt-in ``law`` alias for pipekit (see pipekit_law_alias.py and
docs/differences-from-law.md). It installs one small module and a ``.pth`` file that loads it
at interpreter start; uninstall with ``pip uninstall pipekit-law-alias``.
"""

import os
import shutil

from setuptools import setup
from setuptools.command.build_py import build_py

PTH = "pipekit-law-alias.pth"


class BuildWithPth(build_py):
    """Also copy the .pth file into the wheel's top level (site-packages), where Python reads it."""

    def run(self):
        super().run()
        shutil.copy(os.path.join(os.path.dirname(os.path.abspath(__file__)), PTH),
                    os.path.join(self.build_lib, PTH))


setup(
    name="pipekit-law-alias",
    version="0.1.0",
    description="Opt-in alias: 'import law' gives pipekit unless a real law is installed",
    py_modules=["pipekit_law_alias"],
    # needs pipekit installed; not a requirement here, so pip never fetches another "pipekit"
    python_requires=">=3.9",
    cmdclass={"build_py": BuildWithPth},
)
