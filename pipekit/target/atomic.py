"""
Files opened for writing that appear at their final path only when complete:
:class:`AtomicFile` writes to a temporary local file and *commits* it on :meth:`close`
(local disk: rename into place; remote storage: upload). Leaving a ``with`` block through an
exception, or dropping the object without closing it, discards the temporary file instead.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

__all__ = ["AtomicFile"]


class AtomicFile:
    """Base class: subclasses set :attr:`tmp_path` before :meth:`_open` and implement :meth:`_commit`."""

    tmp_path: str

    def _open(self, mode: str, **kwargs: Any) -> None:
        self._file = open(self.tmp_path, mode.replace("x", "w"), **kwargs)  # noqa: SIM115
        self._done = False

    def _commit(self) -> None:
        """Make the closed temporary file the final one."""
        raise NotImplementedError

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)

    def __iter__(self):
        return iter(self._file)

    def write(self, data: Any) -> int:
        return self._file.write(data)

    def close(self) -> None:
        """Flush and close the temporary file, then commit it to the final path."""
        if self._done:
            return
        self._done = True
        self._file.close()
        self._commit()

    def discard(self) -> None:
        """Close and delete the temporary file; the final path is left untouched."""
        if self._done:
            return
        self._done = True
        self._file.close()
        with contextlib.suppress(FileNotFoundError):
            os.remove(self.tmp_path)

    def __enter__(self) -> AtomicFile:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        else:
            self.discard()

    def __del__(self) -> None:
        # a file dropped without close() must not leave anything at the final path
        if not getattr(self, "_done", True):
            self.discard()
