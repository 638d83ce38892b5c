"""
Hidden temporary siblings of outputs being written, and the sweep of those left behind.

Every write goes to ``.<stem>.pktmp-<host>-<pid>-<id><ext>`` next to its destination and is
renamed into place when complete (:func:`tmp_name`); *host* is a short hash of the writing
machine's name and *pid* the writing process. A process killed mid-write (Ctrl-C, a walltime
kill, the OOM killer) or an upload cut by a server crash leaves that file behind — tens of MB
each, forever, since nothing else ever looks at a hidden name.

:class:`StaleSweep` removes them when the same directory is written again, judging each by
:func:`writer_gone`: written on this machine by a process that no longer runs (or whose pid now
belongs to a younger process), or — from another machine, or named the wave-1 way without a
host — untouched for a day. On local disk the first write into a directory in a process lists
it once for that. On remote storage a listing can be large and is paid per job, so the sweep
uses only the listings the process makes anyway (a workflow lists each output directory once to
see what is done) — a re-run of the workflow cleans up after the run that was killed — and no
extra request otherwise. Temporaries this process failed to remove (the server was down) are
retried before its next write to the same storage.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import time
import uuid
import weakref
from dataclasses import dataclass
from typing import Callable, Iterable

from pipekit.target.file import split_tmp_name

__all__ = ["tmp_name", "parse_tmp_name", "TmpName", "writer_gone", "StaleSweep", "FOREIGN_MAX_AGE"]

#: seconds after which a temporary of another machine (or without a host) counts as abandoned;
#: a running transfer touches its file far more often than that
FOREIGN_MAX_AGE = 24 * 3600.0

_NAME = re.compile(r"^\.(?P<stem>.*)\.pktmp-(?:(?P<host>[0-9a-f]{6})-)?(?P<pid>\d+)-[0-9a-f]{8}"
                   r"(?P<ext>(?:\..*)?)$")


def _host_tag() -> str:
    return hashlib.sha1(os.uname().nodename.encode()).hexdigest()[:6]


HOST = _host_tag()


def tmp_name(basename: str) -> str:
    """The hidden, unique temporary name of a file called *basename* (extensions kept)."""
    stem, ext = split_tmp_name(basename)
    return f".{stem}.pktmp-{HOST}-{os.getpid()}-{uuid.uuid4().hex[:8]}{ext}"


@dataclass(frozen=True)
class TmpName:
    """What a temporary name says: the file it stands for, and its writer."""

    basename: str
    host: str | None
    pid: int


def parse_tmp_name(name: str) -> TmpName | None:
    """The parts of a temporary name made by :func:`tmp_name` (or wave 1's), else None."""
    m = _NAME.match(name)
    if not m:
        return None
    return TmpName(m.group("stem") + m.group("ext"), m.group("host"), int(m.group("pid")))


def _process_start(pid: int) -> float | None:
    """When process *pid* started (epoch seconds; Linux ``/proc``), or None if unknown."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/stat") as f:
            btime = next(float(line.split()[1]) for line in f if line.startswith("btime"))
        return btime + float(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def writer_gone(info: TmpName, mtime: float | None, now: float | None = None) -> bool:
    """Whether the process that wrote a temporary (last modified at *mtime*) can no longer be."""
    now = time.time() if now is None else now
    if info.host != HOST:
        return mtime is not None and now - mtime > FOREIGN_MAX_AGE
    if info.pid == os.getpid():
        return False  # ours: a write in progress (a failed removal is retried separately)
    try:
        os.kill(info.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # it runs, as another user
    started = _process_start(info.pid)
    # a process that started after the file was last written cannot be its writer (pid reuse)
    return started is not None and mtime is not None and started > mtime + 1.0


def _key(directory: str) -> str:
    return directory.rstrip("/") or "/"


class StaleSweep:
    """
    Removes the temporaries in a directory whose writer is gone, when the directory is written
    again. The storage is reached through *list_names(dir)* (names in *dir*, may raise; None:
    never list, use only the names passed to :meth:`seen`), *mtime(path)* (None when gone) and
    *remove(path)*.
    """

    def __init__(self, list_names: Callable[[str], Iterable[str]] | None,
                 mtime: Callable[[str], float | None], remove: Callable[[str], None],
                 join: Callable[[str, str], str] = os.path.join):
        self._list, self._mtime, self._remove, self._join = list_names, mtime, remove, join
        self._reset()
        # a forked child starts afresh: its parent's bookkeeping is not its own, and a lock
        # held by another thread at the fork would stay locked in the child
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: ref() is not None and ref()._reset())

    def _reset(self) -> None:
        self._swept: set[str] = set()
        self._seen: dict[str, set[str]] = {}
        self._orphans: list[str] = []
        self._lock = threading.Lock()

    def seen(self, directory: str, names: Iterable[str]) -> None:
        """A listing of *directory* made for another reason: its temporaries are candidates."""
        tmps = {n for n in names if ".pktmp-" in n and parse_tmp_name(n)}
        if tmps:
            with self._lock:
                self._seen.setdefault(_key(directory), set()).update(tmps)

    def sweep(self, directory: str) -> list[str]:
        """Before a write into *directory*: remove what writers that are gone left there."""
        directory = _key(directory)
        with self._lock:
            listed = directory in self._swept or self._list is None
            self._swept.add(directory)
            names = self._seen.pop(directory, set())
        removed = self._retry_orphans() if self._orphans else []
        if not listed:
            try:
                names.update(n for n in self._list(directory) if ".pktmp-" in n)
            except Exception:  # noqa: BLE001 - a missing directory, or storage trouble: not our job here
                pass
        for name in sorted(names):
            info = parse_tmp_name(name)
            if info is None:
                continue
            path = self._join(directory, name)
            try:
                if writer_gone(info, self._mtime(path)):
                    self._remove(path)
                    removed.append(path)
            except Exception:  # noqa: BLE001 - gone already, or not ours to remove
                continue
        return removed

    def orphaned(self, path: str) -> None:
        """*path*, a temporary of this process, could not be removed: retry after the next write."""
        with self._lock:
            self._orphans.append(path)

    def _retry_orphans(self) -> list[str]:
        with self._lock:
            todo, self._orphans = self._orphans, []
        done, left = [], []
        for path in todo:
            try:
                self._remove(path)
                done.append(path)
            except FileNotFoundError:
                done.append(path)
            except Exception:  # noqa: BLE001 - still unreachable: keep it for later
                left.append(path)
        with self._lock:
            self._orphans.extend(left)
        return done
