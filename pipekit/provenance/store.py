"""
Where records live: one small file per output directory, ``.pipekit-provenance``, next to the
outputs (nothing is written into the outputs themselves).

The file is JSON: a table of *contexts* (what many outputs share: task, parameters, code, git,
software, host, job), a table of input directories, and one compact entry per output name::

    {"format": "pipekit-provenance", "version": 1,
     "contexts": [{"family": "Histogram", "params": {...}, "code": {...}, ...}],
     "dirs": ["/data/events"],
     "outputs": {"hist_3.json": [ctx, branch, start, end, size, mtime,
                                 [[dir, "events_3.json", size, mtime, checksum], ...],
                                 checksum (only with [provenance] checksum)]}}

so a workflow of 100 000 branches writing into one directory costs one file of about 100 bytes
per branch, not 100 000 files. Writes are atomic (temporary sibling + rename; remotely the
storage's atomic upload) and merge with what is there: locally under a POSIX lock on the file
itself (so parallel processes and batch jobs writing into one directory lose nothing; the lock
works on NFS too), remotely by reading the file back after the upload and merging again when a
concurrent writer replaced it. A record that is lost anyway makes its output "unknown", never
"outdated". Entries of outputs that no longer exist are dropped when the file is rewritten.

:class:`RecordBuffer` collects the records of many branches and writes each directory's file
once (and every few seconds during a long run, so a killed run keeps most of them).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import time
from typing import Any, Iterator

from pipekit.provenance.fingerprint import FileState
from pipekit.provenance.record import InputState, Record, output_targets, task_context
from pipekit.target.collection import PROVENANCE_FILE

__all__ = ["STORE_NAME", "STORE_VERSION", "StoreData", "read_store", "write_entries",
           "RecordBuffer"]

logger = logging.getLogger("pipekit.provenance")

STORE_NAME = PROVENANCE_FILE
STORE_VERSION = 1
_FORMAT = "pipekit-provenance"

#: a new entry before it is stored: (context, branch, start, end, (size, mtime), inputs)
NewEntry = tuple[dict, Any, float, float, tuple, list]


class StoreData:
    """The parsed content of one store file (empty when there is none)."""

    def __init__(self, raw: dict | None = None, where: str = ""):
        raw = raw or {}
        self.where = where
        self.contexts: list[dict] = raw.get("contexts") or []
        self.dirs: list[str] = raw.get("dirs") or []
        self.outputs: dict[str, list] = raw.get("outputs") or {}
        self._ctx_index: dict[str, int] | None = None
        self._dir_index: dict[str, int] | None = None
        self._key_by_id: dict[int, str] = {}
        self._keep_alive: list[dict] = []

    @classmethod
    def parse(cls, text: str, where: str) -> StoreData:
        """Parse *text*; an unreadable or foreign file reads as empty (with a warning)."""
        if not text.strip():
            return cls(where=where)
        try:
            raw = json.loads(text)
        except ValueError as e:
            logger.warning("provenance file %s is not valid JSON (%s); its records are ignored",
                           where, e)
            return cls(where=where)
        if not isinstance(raw, dict) or raw.get("format") != _FORMAT:
            logger.warning("%s is not a pipekit provenance file; its content is ignored", where)
            return cls(where=where)
        if raw.get("version") != STORE_VERSION:
            raise _NewerFormat(f"provenance file {where} has format version "
                               f"{raw.get('version')!r}; this pipekit reads {STORE_VERSION}")
        return cls(raw, where)

    # -- reading --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.outputs)

    def __contains__(self, name: str) -> bool:
        return name in self.outputs

    def entry(self, name: str) -> list | None:
        return self.outputs.get(name)

    def record(self, name: str, output_key: str) -> Record | None:
        """The :class:`Record` of output *name* (*output_key*: its full path or URI)."""
        e = self.outputs.get(name)
        if e is None:
            return None
        ctx = self.contexts[e[0]]
        return Record(
            output=output_key, family=ctx["family"], module=ctx["module"],
            task_class=ctx["class"], params=dict(ctx["params"]),
            defaulted=list(ctx["defaulted"]), branch=e[1], code=dict(ctx["code"]),
            version=ctx.get("version"), inputs=self.inputs_of(e),
            output_state=FileState(e[4], e[5], e[7] if len(e) > 7 else None), git=ctx.get("git"),
            software=dict(ctx.get("software") or {}), host=ctx.get("host", ""),
            user=ctx.get("user", ""), start=e[2], end=e[3], job=ctx.get("job"),
        )

    def inputs_of(self, entry: list) -> list[InputState]:
        return [InputState(_join(self.dirs[d], n), FileState(s, m, c)) for d, n, s, m, c in entry[6]]

    # -- writing --------------------------------------------------------------------------------

    def put(self, name: str, new: NewEntry) -> None:
        ctx, branch, start, end, state, inputs = new
        size, mtime = state[0], state[1]
        checksum = state[2] if len(state) > 2 else None
        if self._ctx_index is None:
            self._ctx_index = {_ctx_key(c): i for i, c in enumerate(self.contexts)}
            self._dir_index = {d: i for i, d in enumerate(self.dirs)}
        key = self._key_by_id.get(id(ctx))
        if key is None:
            key = self._key_by_id[id(ctx)] = _ctx_key(ctx)
            self._keep_alive.append(ctx)  # ids stay unique while the dict is cached here
        ci = self._ctx_index.get(key)
        if ci is None:
            ci = self._ctx_index[key] = len(self.contexts)
            self.contexts.append(ctx)
        ins = []
        for k, s, m, c in inputs:
            d, _, n = k.rstrip("/").rpartition("/")
            di = self._dir_index.get(d)
            if di is None:
                di = self._dir_index[d] = len(self.dirs)
                self.dirs.append(d)
            ins.append([di, n, s, m, c])
        entry = [ci, branch, start, end, size, mtime, ins]
        if checksum is not None:
            entry.append(checksum)
        self.outputs[name] = entry

    def dumps(self, keep: set[str] | None = None) -> str:
        """The file content, keeping only entries named in *keep* (None: all) and the contexts
        and directories they use."""
        outputs = self.outputs if keep is None else {n: e for n, e in self.outputs.items() if n in keep}
        ctx_map: dict[int, int] = {}
        dir_map: dict[int, int] = {}
        packed = {}
        for name, e in outputs.items():
            ci = ctx_map.setdefault(e[0], len(ctx_map))
            ins = [[dir_map.setdefault(i[0], len(dir_map)), *i[1:]] for i in e[6]]
            packed[name] = [ci, *e[1:6], ins, *e[7:]]
        data = {
            "format": _FORMAT, "version": STORE_VERSION,
            "contexts": [self.contexts[i] for i in ctx_map],
            "dirs": [self.dirs[i] for i in dir_map],
            "outputs": packed,
        }
        return json.dumps(data, separators=(",", ":")) + "\n"


class _NewerFormat(Exception):
    """The store was written by a newer pipekit: never overwrite it."""


def _ctx_key(ctx: dict) -> str:
    return json.dumps(ctx, sort_keys=True, separators=(",", ":"))


def _join(directory: str, name: str) -> str:
    return f"{directory}/{name}" if directory else name


# -- reading and writing a directory's file -------------------------------------------------------


def _is_local(fs: Any) -> bool:
    from pipekit.target.local import LocalFileSystem

    return isinstance(fs, LocalFileSystem)


def read_store(fs: Any, dirpath: str) -> StoreData:
    """The records of directory *dirpath* on *fs* (empty when it has none)."""
    path = fs.join(dirpath, STORE_NAME)
    where = path if _is_local(fs) else fs.uri(path)
    try:
        if _is_local(fs):
            with open(path, encoding="utf-8") as f:
                text = f.read()
        else:
            from pipekit.errors import TargetMissingError

            try:
                with fs.open(path, "r") as f:
                    text = f.read()
            except TargetMissingError:
                return StoreData(where=where)
    except (FileNotFoundError, NotADirectoryError):
        return StoreData(where=where)
    try:
        return StoreData.parse(text, where)
    except _NewerFormat as e:
        logger.warning("%s; its records are not shown", e)
        return StoreData(where=where)


def write_entries(fs: Any, dirpath: str, entries: dict[str, NewEntry]) -> None:
    """Merge *entries* (``{output name: new entry}``) into the file of *dirpath* atomically."""
    if not entries:
        return
    if _is_local(fs):
        _write_local(os.path.join(dirpath, STORE_NAME), entries)
    else:
        _write_remote(fs, dirpath, entries)


@contextlib.contextmanager
def _locked(path: str) -> Iterator[int]:
    """An exclusive POSIX lock on *path* itself (created empty when missing). A writer that
    waited for a lock on a file another writer has since replaced takes the new file's lock."""
    import fcntl

    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX)
            try:
                current = os.stat(path).st_ino
            except FileNotFoundError:
                current = None
            if current == os.fstat(fd).st_ino:
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield fd
    finally:
        os.close(fd)  # releases the lock


def _write_local(path: str, entries: dict[str, NewEntry]) -> None:
    with _locked(path) as fd:
        # read through the locked descriptor only: closing any other descriptor of the file
        # would release the POSIX lock
        chunks = []
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
        data = StoreData.parse(b"".join(chunks).decode("utf-8"), path)
        for name, new in entries.items():
            data.put(name, new)
        directory = os.path.dirname(path)
        keep = set(os.listdir(directory))
        tmp = os.path.join(directory, f".{STORE_NAME}.{os.getpid()}.tmp")
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(data.dumps(keep))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)


def _write_remote(fs: Any, dirpath: str, entries: dict[str, NewEntry], attempts: int = 5) -> None:
    path = fs.join(dirpath, STORE_NAME)
    for attempt in range(attempts):
        data = read_store(fs, dirpath)
        for name, new in entries.items():
            data.put(name, new)
        keep = set(fs.listdir(dirpath))
        with fs.open(path, "w") as f:
            f.write(data.dumps(keep))
        # no locks on remote storage: read back, and merge again if a concurrent writer's
        # upload replaced ours
        back = read_store(fs, dirpath)
        if all(back.entry(n) is not None and back.entry(n)[2] == new[2] for n, new in entries.items()):
            return
        time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
    logger.warning("provenance records in %s were overwritten by concurrent writers %d times; "
                   "some outputs may read as unknown", fs.uri(path), attempts)


# -- collecting many records ----------------------------------------------------------------------


class RecordBuffer:
    """
    Records of finished branches (or tasks), grouped by output directory and written per
    directory: on :meth:`flush`, and by :meth:`add` when *interval* seconds passed since the
    last write. A failure to write is a warning: it never fails the task.
    """

    def __init__(self, interval: float = 10.0):
        self.interval = interval
        self._pending: dict[tuple, dict[str, NewEntry]] = {}
        self._last = time.monotonic()
        self._contexts: dict[Any, dict] = {}

    def context(self, task: Any) -> dict:
        """The context of *task*, computed once per workflow for its branches."""
        wf = task.__dict__.get("_workflow_task")
        if wf is not None and not task.workflow_param_names():
            key = id(wf)
            ctx = self._contexts.get(key)
            if ctx is None:
                ctx = self._contexts[key] = task_context(task)
            return ctx
        return task_context(task)

    def add(self, task: Any, payload: dict[str, Any] | None) -> None:
        """Add the records of *task* from a :meth:`RunProbe.finish` payload (None: nothing)."""
        if not payload:
            return
        try:
            self._add(task, payload, output_targets(task))
        except Exception as e:  # provenance never fails the analysis
            logger.warning("provenance of %r is not recorded: %s: %s", task, type(e).__name__, e)

    def add_branch(self, workflow: Any, branch: int, payload: dict[str, Any] | None) -> None:
        """Like :meth:`add` for a branch of *workflow*, with the targets of its collection."""
        if not payload:
            return
        from pipekit.provenance.hooks import branch_outputs

        task = workflow.branch_task(branch)
        try:
            outputs = branch_outputs(workflow, branch)
            self._add(task, payload, output_targets(task) if outputs is None else outputs)
        except Exception as e:  # provenance never fails the analysis
            logger.warning("provenance of %r is not recorded: %s: %s", task, type(e).__name__, e)

    def _add(self, task: Any, payload: dict[str, Any], outputs: list[Any]) -> None:
        ctx = self.context(task)
        branch = task.branch if getattr(task, "branch", -1) != -1 else None
        if len(outputs) != len(payload["outputs"]):
            return  # the outputs differ from those seen by the run: no trustworthy record
        for target, state in zip(outputs, payload["outputs"]):
            pending = self._pending.setdefault((target.fs, target.dirname), {})
            pending[target.basename] = (ctx, branch, payload["start"], payload["end"],
                                        tuple(state), payload["inputs"])
        if time.monotonic() - self._last >= self.interval:
            self.flush()

    def flush(self) -> None:
        pending, self._pending = self._pending, {}
        self._last = time.monotonic()
        for (fs, dirname), entries in pending.items():
            try:
                write_entries(fs, dirname, entries)
            except Exception as e:  # provenance never fails the analysis
                logger.warning("cannot write provenance records to %s: %s: %s",
                               fs.join(dirname, STORE_NAME), type(e).__name__, e)
