"""
Collections of targets that count as one output: :class:`TargetCollection` (a list or dict of
targets or nested structures of targets) with a *threshold*, and its file variants.

Existence checks are batched: all file targets of a collection that live in the same directory
of the same file system are checked with **one directory listing**, not one stat per target. So a
2000-branch workflow whose outputs sit in one directory is checked with a single ``listdir``.
"""

from __future__ import annotations

import contextlib
import random
from typing import Any, Iterator

import luigi

from pipekit.structure import iter_leaves
from pipekit.target.file import FileSystemTarget

__all__ = [
    "TargetCollection",
    "FileCollection",
    "SiblingFileCollection",
    "NestedSiblingFileCollection",
    "listing_snapshot",
    "PIPEKIT_FILES",
]

_UNLISTED = object()

#: files pipekit keeps in output directories for itself (the provenance records of
#: :mod:`pipekit.provenance.store`); collections made from a directory's files leave them out
PROVENANCE_FILE = ".pipekit-provenance"
PIPEKIT_FILES = frozenset({PROVENANCE_FILE})

#: directory listings shared by all collections inside a listing_snapshot() block
_snapshot: dict[tuple, Any] | None = None


@contextlib.contextmanager
def listing_snapshot() -> Iterator[None]:
    """
    Within the block every directory is listed at most once: collections reuse the listing.
    ``--print-status`` uses it so that a collection's count and the workflow's branch summary
    cost one listing (one request on remote storage), not one each.
    """
    global _snapshot
    outer = _snapshot
    _snapshot = {} if outer is None else outer
    try:
        yield
    finally:
        _snapshot = outer


class TargetCollection(luigi.Target):
    """
    A list or dict of targets (each element may itself be a structure of targets). The
    collection exists when at least *threshold* elements exist: a fraction (<= 1) of the
    elements or an absolute count (> 1). An element exists when all of its targets exist.
    """

    # luigi flattens iterables when looking for outputs; a collection is one output
    __iter__ = None  # type: ignore[assignment]

    #: list a directory even for a single target in it (a listing costs what a stat costs, and
    #: the file collections promise one listing per directory)
    _list_single_targets = False

    def __init__(self, targets: Any, threshold: float = 1.0, **kwargs: Any):
        if isinstance(targets, dict):
            self.targets = dict(targets)
        elif isinstance(targets, (list, tuple)):
            self.targets = list(targets)
        else:
            raise TypeError(f"{self.__class__.__name__} needs a list or dict of targets, got {type(targets).__name__}")
        self.threshold = threshold
        super().__init__()

    # -- container API --------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, key: Any) -> Any:
        return self.targets[key]

    def __contains__(self, key: Any) -> bool:
        if isinstance(self.targets, dict):
            return key in self.targets
        return isinstance(key, int) and -len(self.targets) <= key < len(self.targets)

    def keys(self) -> list:
        return list(self.targets.keys()) if isinstance(self.targets, dict) else list(range(len(self.targets)))

    def values(self) -> list:
        return list(self.targets.values()) if isinstance(self.targets, dict) else list(self.targets)

    def items(self) -> list:
        return list(self.targets.items()) if isinstance(self.targets, dict) else list(enumerate(self.targets))

    def iter_targets(self) -> Iterator[Any]:
        """All leaf targets, flattened."""
        for value in self.values():
            for leaf in iter_leaves(value):
                if isinstance(leaf, TargetCollection):
                    yield from leaf.iter_targets()
                else:
                    yield leaf

    @property
    def first_target(self) -> Any:
        values = self.values()
        if not values:
            return None
        return next(iter_leaves(values[0]), None)

    def random_target(self) -> Any:
        return random.choice(list(self.iter_targets()))

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}(len={len(self)}, threshold={self.threshold})"

    def repr(self, color: bool = False) -> str:
        return repr(self)

    # -- existence ------------------------------------------------------------------------------

    def required_count(self, n: int | None = None) -> float:
        """How many elements must exist: ``threshold * n`` for fractions, else the count."""
        n = len(self) if n is None else n
        return self.threshold * n if self.threshold <= 1 else float(self.threshold)

    def existing_keys(self) -> list:
        """Keys of elements whose targets all exist (batched: one listing per directory).
        Inside a :func:`listing_snapshot` block the answer is computed once per collection."""
        if _snapshot is not None:
            memo = _snapshot.get(("existing_keys", id(self)))
            if memo is not None and memo[0] is self:
                return list(memo[1])
            keys = self._existing_keys()
            _snapshot[("existing_keys", id(self))] = (self, keys)
            return list(keys)
        return self._existing_keys()

    def _existing_keys(self) -> list:
        items = self.items()
        counts: dict[tuple, int] = {}
        for _, value in items:
            for leaf in iter_leaves(value):
                if isinstance(leaf, FileSystemTarget) and leaf.fs.lists_cheaply:
                    k = (leaf.fs, leaf.dirname)
                    counts[k] = counts.get(k, 0) + 1
        listings: dict[tuple, Any] = {} if _snapshot is None else _snapshot
        force = self._list_single_targets
        existing = []
        for key, value in items:
            for leaf in iter_leaves(value):
                if isinstance(leaf, FileSystemTarget) and leaf.fs.lists_cheaply:
                    k = (leaf.fs, leaf.dirname)
                    if counts[k] > 1 or force:
                        names = listings.get(k, _UNLISTED)
                        if names is _UNLISTED:
                            names = listings[k] = leaf.fs.existing_names(leaf.dirname)
                        if names is None or leaf.basename not in names:
                            break
                        continue
                if not leaf.exists():
                    break
            else:
                existing.append(key)
        return existing

    def count(self, existing: bool = True, keys: bool = False) -> Any:
        """Number of existing (or missing) elements; with *keys*, also their keys."""
        ex = self.existing_keys()
        if not existing:
            exset = set(ex)
            ex = [k for k in self.keys() if k not in exset]
        return (len(ex), ex) if keys else len(ex)

    def exists(self, count: int | None = None) -> bool:
        n = self.count() if count is None else count
        return n >= self.required_count()

    def iter_existing(self, keys: bool = False) -> Iterator[Any]:
        for key in self.existing_keys():
            yield (key, self.targets[key]) if keys else self.targets[key]

    def iter_missing(self, keys: bool = False) -> Iterator[Any]:
        existing = set(self.existing_keys())
        for key, value in self.items():
            if key not in existing:
                yield (key, value) if keys else value

    def status_text(self) -> str:
        """``"existent (5/5)"`` or ``"absent (2/5)"``, as ``--print-status`` shows it."""
        n = self.count()
        state = "existent" if n >= self.required_count() else "absent"
        return f"{state} ({n}/{len(self)})"

    # -- bulk operations ------------------------------------------------------------------------

    def remove(self, silent: bool = True) -> None:
        for t in self.iter_targets():
            t.remove(silent=silent)

    def uri(self, *args: Any, **kwargs: Any) -> list[str]:
        return [t.uri(*args, **kwargs) for t in self.iter_targets()]

    def map(self, func: Any) -> TargetCollection:
        """A collection of the same kind with *func* applied to every element."""
        if isinstance(self.targets, dict):
            targets: Any = {k: func(v) for k, v in self.targets.items()}
        else:
            targets = [func(v) for v in self.targets]
        return self.__class__(targets, threshold=self.threshold)


class FileCollection(TargetCollection):
    """A collection whose leaves are file-system targets; adds :meth:`localize` for all of them."""

    @contextlib.contextmanager
    def localize(self, mode: str = "r", **kwargs: Any) -> Iterator[FileCollection]:
        """Localize every target at once; yields a collection of the local stand-ins."""
        with contextlib.ExitStack() as stack:
            def loc(struct: Any) -> Any:
                from pipekit.structure import map_struct

                return map_struct(lambda t: stack.enter_context(t.localize(mode, **kwargs)), struct)

            if isinstance(self.targets, dict):
                local: Any = {k: loc(v) for k, v in self.targets.items()}
            else:
                local = [loc(v) for v in self.targets]
            yield FileCollection(local, threshold=self.threshold)


class SiblingFileCollection(FileCollection):
    """
    File targets that all live in one directory (:attr:`dir`): existence is one listing of it.
    """

    _list_single_targets = True

    def __init__(self, targets: Any, threshold: float = 1.0, dir: Any = None, **kwargs: Any):  # noqa: A002
        super().__init__(targets, threshold=threshold, **kwargs)
        leaves = list(self.iter_targets())
        if dir is None:
            if not leaves:
                raise ValueError("SiblingFileCollection needs targets or an explicit dir")
            dir = leaves[0].parent  # noqa: A001
        elif not isinstance(dir, FileSystemTarget):
            from pipekit.target.local import LocalDirectoryTarget

            dir = (  # noqa: A001
                leaves[0].directory_class()(dir, fs=leaves[0].fs) if leaves else LocalDirectoryTarget(dir)
            )
        self.dir = dir
        for t in leaves:
            if t.dirname != dir.path:
                raise ValueError(f"{t!r} is not in directory {dir.path} of the SiblingFileCollection")

    @classmethod
    def from_directory(cls, directory: Any, **kwargs: Any) -> SiblingFileCollection:
        """All files currently in *directory* (a directory target or local path)."""
        from pipekit.target.local import LocalDirectoryTarget

        d = directory if isinstance(directory, FileSystemTarget) else LocalDirectoryTarget(directory)
        names = [n for n in d.listdir(type="f") if n not in PIPEKIT_FILES]
        targets = [d.child(name, type="f") for name in names]
        return cls(targets, dir=d, **kwargs)


class NestedSiblingFileCollection(FileCollection):
    """
    File targets spread over several directories: one :class:`SiblingFileCollection` per
    directory (:attr:`collections`), so existence costs one listing per directory.
    """

    _list_single_targets = True

    def __init__(self, targets: Any, threshold: float = 1.0, **kwargs: Any):
        super().__init__(targets, threshold=threshold, **kwargs)
        groups: dict[str, list] = {}
        for t in self.iter_targets():
            groups.setdefault(t.dirname, []).append(t)
        self.collections = [SiblingFileCollection(ts) for ts in groups.values()]
