"""
:class:`PendingOutput`: an open file a formatter's ``dump()`` returned (``h5py.File``, an uproot
file, a ROOT ``TFile``) whose target is written only when it is closed.

A target's ``dump()`` writes to a temporary sibling and renames it into place. Formatters that
hand an open file to the caller would have the rename happen before the caller wrote anything;
so for them the target keeps its write context open and this proxy closes it: ``with
target.dump(formatter="h5py") as f: f.create_dataset(...)`` (or ``f = target.dump(...)`` ...
``f.close()``) moves the complete file into place at the end, and an exception in the block
discards it. A handle that is never closed leaves only the hidden temporary file, never a
half-written output.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["PendingOutput"]


class PendingOutput:
    """Proxy of the open *handle*; closing it commits *write_context* (the target's localize)."""

    def __init__(self, handle: Any, write_context: Any):
        self._handle = handle
        self._context = write_context
        self._entered: Any = None
        self._done = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __getitem__(self, key: Any) -> Any:
        return self._handle[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._handle[key] = value

    def __enter__(self) -> Any:
        enter = getattr(self._handle, "__enter__", None)
        self._entered = enter() if callable(enter) else self._handle
        return self._entered

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        try:
            leave = getattr(self._handle, "__exit__", None)
            if callable(leave):
                leave(exc_type, exc, tb)
            else:
                self._close_handle()
        finally:
            self._finish(exc_type, exc, tb)
        return False

    def close(self) -> None:
        """Close the file and move it into place."""
        try:
            self._close_handle()
        except BaseException:
            self._finish(*sys.exc_info())
            raise
        self._finish(None, None, None)

    # ROOT's spelling
    Close = close

    def _close_handle(self) -> None:
        for name in ("close", "Close"):
            fn = getattr(self._handle, name, None)
            if callable(fn):
                fn()
                return

    def _finish(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._done:
            self._done = True
            self._context.__exit__(exc_type, exc, tb)

    def __repr__(self) -> str:
        return f"PendingOutput({self._handle!r})"
