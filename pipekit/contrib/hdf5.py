"""
law's ``hdf5`` package: :class:`H5pyFormatter` (``formatter="h5py"``, ``.h5`` / ``.hdf5``).
``target.load()`` opens the file for reading; ``with target.dump() as f: ...`` writes one that
appears at the target's path only when the block ends without error. Needs ``pipekit[hep]``.
"""

from __future__ import annotations

from pipekit.target.formatter import activate_contrib
from pipekit.target.hep_formats import H5pyFormatter

__all__ = ["H5pyFormatter"]

activate_contrib("hdf5")  # its formatter joins formatter="auto" in load order, as in law
