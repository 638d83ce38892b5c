"""
The outdated check: is an existing output still what its task would make now?

An output is

- ``missing`` when it does not exist,
- ``unknown`` when it has no record (made before provenance was switched on, or by something
  else), or the file is not the one its record saw: its size differs (or, with checksums on,
  its checksum), so a half-written or replaced file is never "current"; a file that was only
  touched keeps its record (and its dependents see a newer input),
- ``outdated`` when its record disagrees with the present: the code of the task's class or one of
  its analysis base classes changed (``code changed (Class)``), its ``version`` changed, a
  parameter differs (``parameter default changed (name: old → new)`` when the value came from a
  default that changed, ``parameter name changed (...)`` otherwise), an input it read differs
  (``input NAME newer`` when its mtime is later, ``input NAME changed`` otherwise; with
  checksums on, a touched input whose checksum is unchanged does not count), or an input is
  itself outdated (``input NAME outdated``: outdated-ness travels down the dependency chain),
- ``current`` otherwise.

Existence stays the completeness rule: this check only informs ``--print-status`` and
``--print-output``, and ``--remove-output D,outdated`` / ``--rerun-outdated`` act on it.

Costs do not grow with N where they need not: each store file is read once, each context
(shared by all branches of a workflow) is judged once, local files cost one ``stat`` each and
remote directories one listing each.
"""

from __future__ import annotations

import importlib
import os
import sys
from typing import Any

from pipekit.provenance.fingerprint import (
    FileState,
    class_version,
    code_fingerprint,
    file_checksum,
    local_state,
    remote_listing,
)
from pipekit.provenance.locate import fs_for_uri, is_uri, split_key
from pipekit.provenance.store import StoreData, read_store
from pipekit.target.file import FileSystemTarget
from pipekit.target.local import LocalFileSystem

__all__ = ["Verdict", "ProvenanceCheck", "CURRENT", "OUTDATED", "UNKNOWN", "MISSING"]

CURRENT, OUTDATED, UNKNOWN, MISSING = "current", "outdated", "unknown", "missing"


class Verdict:
    """The state of one output (or one branch): :attr:`status`, :attr:`reasons` and its
    :attr:`record` (a :class:`~pipekit.provenance.record.Record`, or None without one)."""

    __slots__ = ("status", "reasons", "_record")

    def __init__(self, status: str, reasons: list[str] | None = None, record: Any = None):
        self.status = status
        #: shared between verdicts of one context: read it, do not change it
        self.reasons = reasons if reasons is not None else []
        self._record = record  # a Record, or (store, name, key) to build it from on first use

    @property
    def record(self) -> Any:
        if isinstance(self._record, tuple):
            store, name, key = self._record
            self._record = store.record(name, key)
        return self._record

    def text(self) -> str:
        """``"outdated: code changed (Histogram)"``, ``"current"``, ``"unknown (no record)"``."""
        if self.status == OUTDATED:
            return "outdated: " + "; ".join(self.reasons)
        if self.status == UNKNOWN and self.reasons:
            return f"unknown ({'; '.join(self.reasons)})"
        return self.status

    def __repr__(self) -> str:
        return f"Verdict({self.text()!r})"


def combine(verdicts: list[Verdict]) -> Verdict:
    """One verdict for several outputs of one task: outdated > unknown > current."""
    if not verdicts:
        return Verdict(UNKNOWN, ["no outputs"])
    for status in (MISSING, OUTDATED, UNKNOWN):
        hits = [v for v in verdicts if v.status == status]
        if hits:
            reasons = list(dict.fromkeys(r for v in hits for r in v.reasons))
            return Verdict(status, reasons, hits[0]._record)
    return Verdict(CURRENT, [], verdicts[0]._record)


class _FileStates:
    """Current states of files by key: one stat per local file, one listing per remote dir."""

    def __init__(self) -> None:
        self._local: dict[str, FileState | None] = {}
        self._listings: dict[str, dict[str, FileState]] = {}

    def local(self, path: str) -> FileState | None:
        state = self._local.get(path, _UNSEEN)
        if state is _UNSEEN:
            state = self._local[path] = local_state(path)
        return state

    def get(self, key: str) -> FileState | None:
        if not is_uri(key):
            return self.local(key)
        directory, name = split_key(key)
        listing = self._listings.get(directory)
        if listing is None:
            fs = fs_for_uri(key)
            listing = self._listings[directory] = remote_listing(fs, fs.dirname(fs.abspath(key)))
        return listing.get(name)

    def remote(self, fs: Any, dirpath: str, name: str) -> FileState | None:
        """The state of *name* in a remote directory, from one listing of it."""
        k = repr(fs) + "\0" + dirpath
        listing = self._listings.get(k)
        if listing is None:
            listing = self._listings[k] = remote_listing(fs, dirpath)
        return listing.get(name)

    def checksum(self, key: str) -> str | None:
        if not is_uri(key):
            return file_checksum(key)
        fs = fs_for_uri(key)
        try:
            return fs.file_interface.checksum(fs.abspath(key))
        except Exception:
            return None


_UNSEEN: Any = object()


class ProvenanceCheck:
    """
    Judges outputs against their records (see the module docstring). One instance per command:
    it caches store files, file states, class lookups and verdicts.
    """

    def __init__(self) -> None:
        self._stores: dict[tuple, StoreData] = {}
        self._files = _FileStates()
        self._ctx_verdicts: dict[tuple, tuple[str, list[str]]] = {}
        self._by_key: dict[str, Verdict] = {}
        self._busy: set[str] = set()
        self._classes: dict[tuple, Any] = {}
        self._expected_alive: list[dict] = []
        self._local_stores: dict[str, StoreData] = {}
        self._last_ctx: tuple = (None, None, None, None)

    # -- public ---------------------------------------------------------------------------------

    def task_verdicts(self, task: Any) -> list[tuple[Any, Verdict]]:
        """``[(target, verdict)]`` for the file outputs of a task or branch."""
        from pipekit.provenance.record import output_targets

        expected = expected_params(task)
        return [(t, self.target_verdict(t, expected)) for t in output_targets(task)]

    def task_verdict(self, task: Any) -> Verdict:
        """One verdict for all outputs of *task* (see :func:`combine`)."""
        return combine([v for _, v in self.task_verdicts(task)])

    def branch_verdicts(self, wf: Any) -> dict[int, Verdict]:
        """``{branch: verdict}`` for the present branches of workflow *wf* (one store read and
        one judgement of the shared context per directory; a stat per output)."""
        from pipekit.provenance.record import _leaves

        coll = wf.workflow_output()["collection"]
        per_branch = bool(wf.workflow_param_names())
        expected = None if per_branch else _branch_params(wf)
        out: dict[int, Verdict] = {}
        by_key = self._by_key
        targets = coll.targets
        # the present branches: the listing --print-status made already (one per directory)
        for b in coll.existing_keys():
            value = targets[b]
            exp = expected_params(wf.branch_task(b)) if per_branch else expected
            if isinstance(value, FileSystemTarget) and isinstance(value.fs, LocalFileSystem):
                v = by_key[value.path] = self._judge_local(value.path, exp)
                if v.status != MISSING:
                    out[b] = v
                continue
            verdicts = [self.target_verdict(t, exp) for t in _leaves(value)]
            if not verdicts or any(v.status == MISSING for v in verdicts):
                continue  # not present: the branch summary counts it as missing
            out[b] = verdicts[0] if len(verdicts) == 1 else combine(verdicts)
        return out

    def key_verdict(self, key: str) -> Verdict:
        """The verdict of the file named *key* in records (path or URI), from its record alone:
        parameters can be compared only with their current defaults."""
        known = self._by_key.get(key)
        if known is not None:
            return known
        if key in self._busy:  # a cycle through inputs: judge each file once
            return Verdict(UNKNOWN)
        directory, name = split_key(key)
        if is_uri(key):
            fs = fs_for_uri(key)
            dirpath = fs.dirname(fs.abspath(key))
        else:
            fs, dirpath = LocalFileSystem.default_instance, directory
        self._busy.add(key)
        try:
            verdict = self._judge(fs, dirpath, name, key, None)
        finally:
            self._busy.discard(key)
        self._by_key[key] = verdict
        return verdict

    def target_verdict(self, target: Any, expected: dict[str, str] | None = None) -> Verdict:
        """The verdict of one output target; *expected*: the parameters of the task now."""
        fs = target.fs
        if isinstance(fs, LocalFileSystem):
            key = target.path
            dirpath, _, name = key.rpartition("/")
        else:
            key, dirpath, name = target.uri(), target.dirname, target.basename
        verdict = self._judge(fs, dirpath, name, key, expected)
        self._by_key[key] = verdict
        return verdict

    def known(self, target: Any) -> Verdict | None:
        """The verdict of *target* if this check judged it already, else None."""
        fs = target.fs
        return self._by_key.get(target.path if isinstance(fs, LocalFileSystem) else target.uri())

    def store(self, fs: Any, dirpath: str) -> StoreData:
        """The store file of a directory, read once per check."""
        k = ("local" if isinstance(fs, LocalFileSystem) else repr(fs), dirpath)
        data = self._stores.get(k)
        if data is None:
            data = self._stores[k] = read_store(fs, dirpath)
        return data

    # -- judging --------------------------------------------------------------------------------

    def _judge(self, fs: Any, dirpath: str, name: str, key: str,
               expected: dict[str, str] | None) -> Verdict:
        if isinstance(fs, LocalFileSystem):
            return self._judge_local(key, expected)
        current = self._files.remote(fs, dirpath, name)
        if current is None:
            return Verdict(MISSING)
        return self._judge_entry(self.store(fs, dirpath), name, key, current.size, current.mtime,
                                 expected)

    def _judge_local(self, path: str, expected: dict[str, str] | None) -> Verdict:
        # the path taken once per branch of a big workflow: one stat, a few dict lookups
        dirpath, _, name = path.rpartition("/")
        try:
            st = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            return Verdict(MISSING)
        store = self._local_stores.get(dirpath)
        if store is None:
            store = self._local_stores[dirpath] = self.store(LocalFileSystem.default_instance,
                                                             dirpath)
        return self._judge_entry(store, name, path, st.st_size, st.st_mtime_ns, expected)

    def _judge_entry(self, store: StoreData, name: str, key: str, size: int | None,
                     mtime: int | None, expected: dict[str, str] | None) -> Verdict:
        entry = store.outputs.get(name)
        if entry is None:
            return Verdict(UNKNOWN, ["no record"])
        if not self._still_recorded_file(entry, size, mtime, key):
            return Verdict(UNKNOWN, ["changed after its record was written"])
        status, reasons = self._ctx_verdict(store, entry[0], expected)
        record = (store, name, key)
        if status == UNKNOWN:
            return Verdict(UNKNOWN, reasons, record)
        if entry[6]:
            reasons = reasons + self._input_reasons(store, entry)
        return Verdict(OUTDATED if reasons else CURRENT, reasons, record)

    def _still_recorded_file(self, entry: list, size: int | None, mtime: int | None,
                             key: str) -> bool:
        """
        Whether the file is the one the record saw. Another size: no (a half-written or
        replaced file). Only another mtime (touched, or rewritten byte for byte): yes, unless a
        recorded checksum says otherwise; its dependents see it as a newer input.
        """
        if entry[4] is not None and size is not None and entry[4] != size:
            return False
        checksum = entry[7] if len(entry) > 7 else None
        if checksum is not None and entry[5] != mtime:
            return self._files.checksum(key) == checksum
        return True

    def _input_reasons(self, store: StoreData, entry: list) -> list[str]:
        reasons = []
        for d, n, size, mtime, checksum in entry[6]:
            key = f"{store.dirs[d]}/{n}" if store.dirs[d] else n
            now = self._files.get(key)
            if now is None:
                continue  # a missing input makes nothing outdated: it is not what is there
            if not FileState(size, mtime).same_file(now):
                if checksum is not None and self._files.checksum(key) == checksum:
                    continue  # touched, same content
                newer = now.mtime is not None and mtime is not None and now.mtime > mtime
                reasons.append(f"input {n} {'newer' if newer else 'changed'}")
            elif self.key_verdict(key).status == OUTDATED:
                reasons.append(f"input {n} outdated")
        return _compress(reasons)

    def _ctx_verdict(self, store: StoreData, index: int,
                     expected: dict[str, str] | None) -> tuple[str, list[str]]:
        last = self._last_ctx  # consecutive branches share their context: no lookup at all
        if last[0] is store and last[1] == index and last[2] is expected:
            return last[3]
        found = self._ctx_verdict_lookup(store, index, expected)
        self._last_ctx = (store, index, expected, found)
        return found

    def _ctx_verdict_lookup(self, store: StoreData, index: int,
                            expected: dict[str, str] | None) -> tuple[str, list[str]]:
        if expected is None:
            k: tuple = (id(store), index, None)
        else:  # the same dict for all branches of a workflow: keyed by identity, kept alive
            k = (id(store), index, id(expected))
        found = self._ctx_verdicts.get(k)
        if found is None:
            if expected is not None:
                self._expected_alive.append(expected)
            found = self._ctx_verdicts[k] = self._judge_context(store.contexts[index], expected)
        return found

    def _judge_context(self, ctx: dict, expected: dict[str, str] | None) -> tuple[str, list[str]]:
        cls = self._class(ctx["module"], ctx["class"])
        if cls is None:
            return UNKNOWN, [f"task class {ctx['module']}.{ctx['class']} cannot be imported"]
        reasons = []
        now = code_fingerprint(cls)
        before = ctx.get("code") or {}
        changed = [n for n in now if n in before and before[n] != now[n]]
        if changed:
            reasons.append(f"code changed ({', '.join(n.rsplit('.', 1)[-1] for n in changed)})")
        elif set(now) != set(before):
            reasons.append("code changed (class hierarchy)")
        version = class_version(cls)
        if version != ctx.get("version"):
            reasons.append(f"version changed ({ctx.get('version')} → {version})")
        reasons += _param_reasons(cls, ctx, expected)
        return (OUTDATED if reasons else CURRENT), reasons

    def _class(self, module: str, qualname: str) -> Any:
        k = (module, qualname)
        if k not in self._classes:
            self._classes[k] = _resolve_class(module, qualname)
        return self._classes[k]


# -- helpers --------------------------------------------------------------------------------------


def _resolve_class(module: str, qualname: str) -> Any:
    mod = sys.modules.get(module)
    if mod is None:
        try:
            mod = importlib.import_module(module)
        except Exception:
            return None
    obj: Any = mod
    for part in qualname.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj if isinstance(obj, type) else None


def expected_params(task: Any) -> dict[str, str]:
    """The significant parameters of *task* now, serialised (``branch(es)`` left out)."""
    from pipekit.provenance.record import _SELECTION

    return {name: p.serialize(getattr(task, name)) for name, p in task.get_params()
            if p.significant and name not in _SELECTION}


def _branch_params(wf: Any) -> dict[str, str] | None:
    keys = list(wf.branch_map)
    return expected_params(wf.branch_task(keys[0])) if keys else None


def _param_reasons(cls: type, ctx: dict, expected: dict[str, str] | None) -> list[str]:
    from luigi.parameter import _no_value

    params = dict(cls.get_params())
    defaulted = set(ctx.get("defaulted") or ())
    reasons = []
    for name, old in (ctx.get("params") or {}).items():
        param = params.get(name)
        if param is None:
            continue  # a parameter that was removed: its code change shows as such
        if expected is not None:
            new = expected.get(name)
        elif name in defaulted and param._default is not _no_value:
            try:
                new = param.serialize(param._default)
            except Exception:
                continue
        else:
            continue
        if new is None or new == old:
            continue
        if name == "version":
            reasons.append(f"version changed ({old} → {new})")
        elif name in defaulted and _is_default(param, new):
            reasons.append(f"parameter default changed ({name}: {old} → {new})")
        else:
            reasons.append(f"parameter {name} changed ({old} → {new})")
    return reasons


def _is_default(param: Any, serialized: str) -> bool:
    from luigi.parameter import _no_value

    if param._default is _no_value:
        return False
    try:
        return param.serialize(param._default) == serialized
    except Exception:
        return False


def _compress(reasons: list[str], limit: int = 3) -> list[str]:
    """At most *limit* input reasons of a kind; the rest as a count."""
    if len(reasons) <= limit:
        return reasons
    kinds: dict[str, list[str]] = {}
    for r in reasons:
        kinds.setdefault(r.rsplit(" ", 1)[-1], []).append(r)
    out = []
    for kind, rs in kinds.items():
        out += rs[:limit]
        if len(rs) > limit:
            out.append(f"{len(rs) - limit} more inputs {kind}")
    return out
