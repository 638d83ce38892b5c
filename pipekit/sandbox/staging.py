"""
Stage-in and stage-out of a sandboxed task's targets, for sandboxes that do not see the host's
file system (containers).

Before the sandboxed run, the outer process copies the task's inputs into a temporary *stage
area* (hard links where possible) and writes a manifest: for every target leaf of ``input()``
and ``output()``, in a fixed order, the staged path or ``null``. Inside the sandbox, the task's
``input()`` and ``output()`` return local targets at those staged paths (matched by position,
so both sides agree even when a path depends on the environment). After a successful run, the
outer process moves the staged outputs to the real targets, atomically, local or remote.

Which leaves are staged is decided by the task hooks ``sandbox_stagein(inputs)`` and
``sandbox_stageout(outputs)``: ``True`` (all), ``False`` (none) or a structure of booleans
shaped like the inputs / outputs.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import tempfile
from typing import Any, Iterator

import luigi

from pipekit.errors import SandboxError
from pipekit.target.collection import FileCollection, TargetCollection
from pipekit.target.file import FileSystemTarget

__all__ = ["StageArea", "staged_struct", "read_manifest", "iter_target_leaves"]

logger = logging.getLogger("pipekit.sandbox")

MANIFEST_NAME = "manifest.json"


# -- walking target structures in a fixed order ---------------------------------------------------


def _sub_mask(mask: Any, key: Any) -> Any:
    if isinstance(mask, dict):
        return mask.get(key, False)
    if isinstance(mask, (list, tuple)):
        return mask[key] if isinstance(key, int) and key < len(mask) else False
    return bool(mask)


def iter_target_leaves(struct: Any, mask: Any = True) -> Iterator[tuple[Any, bool]]:
    """``(leaf, selected)`` for every target in *struct*, target collections opened up."""
    if isinstance(struct, TargetCollection):
        yield from iter_target_leaves(struct.targets, mask)
    elif isinstance(struct, dict):
        for key, value in struct.items():
            yield from iter_target_leaves(value, _sub_mask(mask, key))
    elif isinstance(struct, (list, tuple)):
        for i, value in enumerate(struct):
            yield from iter_target_leaves(value, _sub_mask(mask, i))
    elif struct is not None:
        yield struct, bool(mask) if not isinstance(mask, (dict, list, tuple)) else True


def _stageable(target: Any) -> bool:
    return isinstance(target, FileSystemTarget) or isinstance(target, luigi.LocalTarget)


def _staged_target(target: Any, path: str) -> Any:
    from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget

    if isinstance(target, FileSystemTarget):
        return (LocalDirectoryTarget if target.type == "d" else LocalFileTarget)(path)
    return luigi.LocalTarget(path)


def staged_struct(struct: Any, paths: list[str | None]) -> Any:
    """*struct* with its i-th target leaf replaced by a local target at ``paths[i]`` (if set)."""
    counter = itertools.count()

    def replace(obj: Any) -> Any:
        if isinstance(obj, TargetCollection):
            inner = replace(obj.targets)
            try:
                return obj.__class__(inner, threshold=obj.threshold)
            except (TypeError, ValueError):  # e.g. a sibling collection only partly staged
                return FileCollection(inner, threshold=obj.threshold)
        if isinstance(obj, dict):
            return {k: replace(v) for k, v in obj.items()}
        if isinstance(obj, (list, tuple)):
            return type(obj)(replace(v) for v in obj)
        if obj is None:
            return obj
        i = next(counter)
        path = paths[i] if i < len(paths) else None
        return _staged_target(obj, path) if path else obj

    return replace(struct)


def read_manifest(path: str) -> dict[str, Any]:
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise SandboxError(f"cannot read the sandbox stage manifest {path}: {e}") from None


# -- the stage area -------------------------------------------------------------------------------


def _link_or_copy(src: str, dst: str) -> None:
    """Hard-link *src* to *dst* (cheap, same file system), else copy; directories recursively."""
    if os.path.isdir(src):
        try:
            shutil.copytree(src, dst, copy_function=os.link)
        except OSError:
            shutil.rmtree(dst, ignore_errors=True)
            shutil.copytree(src, dst)
        return
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


class StageArea:
    """
    A temporary directory shared with a sandbox: ``in/`` (staged inputs, read-only for the
    sandbox), ``out/`` (staged outputs), ``home/`` (a writable home) and the manifest.
    """

    def __init__(self, task: Any, base_dir: str | None = None, other_user: bool = False):
        self.task = task
        #: whether the sandbox runs as another user: inputs are then copied (a hard link would
        #: share the original's permissions) and the directories opened up for that user
        self.other_user = other_user
        self.root = tempfile.mkdtemp(prefix="pipekit_sandbox_", dir=base_dir)
        self.in_dir = os.path.join(self.root, "in")
        self.out_dir = os.path.join(self.root, "out")
        self.home_dir = os.path.join(self.root, "home")
        for d in (self.in_dir, self.out_dir, self.home_dir):
            os.mkdir(d)
        if other_user:
            for d, mode in (
                (self.root, 0o755),
                (self.in_dir, 0o755),
                (self.out_dir, 0o777),
                (self.home_dir, 0o777),
            ):
                os.chmod(d, mode)
        self.manifest_path = os.path.join(self.root, MANIFEST_NAME)
        self.outputs: list[tuple[Any, str | None]] = []
        self.n_staged_in = 0

    def __repr__(self) -> str:
        return f"StageArea({self.root})"

    @staticmethod
    def _name(i: int, target: Any) -> str:
        return f"{i}_{os.path.basename(str(target.path).rstrip('/')) or 'target'}"

    def stage_in(self, inputs: Any, mask: Any) -> list[str | None]:
        paths: list[str | None] = []
        for i, (target, selected) in enumerate(iter_target_leaves(inputs, mask)):
            if not (selected and _stageable(target)) or not target.exists():
                paths.append(None)
                continue
            dst = os.path.join(self.in_dir, self._name(i, target))
            if isinstance(target, FileSystemTarget) and not _is_local(target):
                target.copy_to_local(dst)
            elif self.other_user:
                (shutil.copytree if os.path.isdir(target.path) else shutil.copy2)(target.path, dst)
                _open_for_reading(dst)
            else:
                _link_or_copy(target.path, dst)
            self.n_staged_in += 1
            paths.append(dst)
        return paths

    def plan_stage_out(self, outputs: Any, mask: Any) -> list[str | None]:
        paths: list[str | None] = []
        for i, (target, selected) in enumerate(iter_target_leaves(outputs, mask)):
            path = (
                os.path.join(self.out_dir, self._name(i, target))
                if selected and _stageable(target)
                else None
            )
            self.outputs.append((target, path))
            paths.append(path)
        return paths

    def prepare(self) -> None:
        """Stage the inputs in and write the manifest (hooks decide what is staged)."""
        task = self.task
        inputs = task.input()
        outputs = task.output()
        manifest = {
            "task_id": task.task_id,
            "inputs": self.stage_in(inputs, task.sandbox_stagein(inputs)),
            "outputs": self.plan_stage_out(outputs, task.sandbox_stageout(outputs)),
        }
        with open(self.manifest_path, "w") as f:
            json.dump(manifest, f)
        if self.n_staged_in:
            logger.debug("staged in %d input(s) to %s", self.n_staged_in, self.in_dir)

    def stage_out(self) -> list[str]:
        """Move staged outputs to their targets; returns the paths of those not written."""
        from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget

        missing = []
        for target, path in self.outputs:
            if path is None:
                continue
            if not os.path.exists(path):
                missing.append(str(target.path))
                continue
            if isinstance(target, FileSystemTarget):
                staged = (LocalDirectoryTarget if target.type == "d" else LocalFileTarget)(path)
                staged.move_to(target)
            else:
                os.makedirs(os.path.dirname(os.path.abspath(target.path)), exist_ok=True)
                shutil.move(path, target.path)
        return missing

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _open_for_reading(path: str) -> None:
    paths = [path]
    if os.path.isdir(path):
        for dirpath, dirnames, filenames in os.walk(path):
            paths += [os.path.join(dirpath, n) for n in dirnames + filenames]
    for p in paths:
        os.chmod(p, os.stat(p).st_mode | (0o555 if os.path.isdir(p) else 0o444))


def _is_local(target: FileSystemTarget) -> bool:
    from pipekit.target.local import LocalFileSystem

    return isinstance(target.fs, LocalFileSystem)
