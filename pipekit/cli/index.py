"""
``pipekit index``: the index of task families, their modules and parameters.

``pipekit run Family`` uses it to find the module to import, and bash completion reads it to
complete families and ``--parameters``. The index lists the tasks of the modules named in
``[modules]`` of law.cfg and records those modules' files and modification times, so
``pipekit run`` rebuilds it by itself when the list or a file changed.

File format (text, one task per line, read by ``completion.sh``)::

    # pipekit index v1
    #modules analysis.tasks,analysis.plots
    #file /abs/path/analysis/tasks.py 1700000000123456789
    analysis.tasks:CreateChars:branch:branches:workflow:...
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import sys

from pipekit.errors import UsageError

__all__ = ["Index", "execute"]

_HEADER = "# pipekit index v1"


def has_run_implementation(task_cls: type) -> bool:
    """
    Whether *task_cls* has a ``run()`` of its own or a user base's (law indexes only those):
    not luigi's empty default, not an abstract method, seen through pipekit's workflow and
    sandbox wrappers. External tasks need none.
    """
    import luigi

    from pipekit.task.base import WrapperTask

    if getattr(task_cls, "run", None) is None or issubclass(
            task_cls, (luigi.ExternalTask, luigi.WrapperTask, WrapperTask)):
        return True  # external tasks need no run(); wrappers run by completing their requirements
    impl = task_cls.run
    while True:
        if getattr(impl, "__isabstractmethod__", False):
            return False
        inner = getattr(impl, "_pipekit_branch_impl", None) or getattr(impl, "__wrapped__", None)
        if inner is None:
            break
        impl = inner
    module = getattr(impl, "__module__", "") or ""
    # the defaults of luigi.Task and of pipekit's own base classes do nothing
    return not (module == "luigi.task" or module.startswith(("pipekit.task.", "pipekit.workflow.")))


def _module_file(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    return spec.origin if spec and spec.origin and os.path.exists(spec.origin) else None


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return -1


class Index:
    """Task families -> (module, parameter names), plus what is needed to tell it is stale."""

    def __init__(self, path: str, modules: list[str], files: dict[str, int], tasks: dict[str, tuple[str, list[str]]]):
        self.path = path
        self.modules = modules
        self.files = files
        self.tasks = tasks

    # -- reading --------------------------------------------------------------------------------

    @classmethod
    def read(cls, path: str) -> Index | None:
        try:
            with open(path) as f:
                lines = f.read().splitlines()
        except OSError:
            return None
        if not lines or lines[0] != _HEADER:
            return None
        modules: list[str] = []
        files: dict[str, int] = {}
        tasks: dict[str, tuple[str, list[str]]] = {}
        for line in lines[1:]:
            if line.startswith("#modules "):
                modules = [m for m in line[9:].split(",") if m]
            elif line.startswith("#file "):
                fpath, _, mtime = line[6:].rpartition(" ")
                files[fpath] = int(mtime)
            elif line and not line.startswith("#"):
                mod, fam, *params = line.split(":")
                tasks[fam] = (mod, params)
        return cls(path, modules, files, tasks)

    def is_fresh(self, modules: list[str]) -> bool:
        if modules != self.modules:
            return False
        return all(_mtime(p) == m for p, m in self.files.items())

    @classmethod
    def load_fresh(cls, verbose: bool = False) -> Index:
        """The index, rebuilt first when ``[modules]`` or one of their files changed."""
        from pipekit.config import Config

        cfg = Config.instance()
        path = cfg.index_file()
        modules = cfg.modules()
        index = cls.read(path)
        if index is not None and index.is_fresh(modules):
            return index
        index = cls.build(path, modules, verbose=verbose)
        try:
            index.write()
        except OSError:
            pass  # a read-only location only costs us the cache
        return index

    def module_of(self, family: str) -> str | None:
        entry = self.tasks.get(family)
        return entry[0] if entry else None

    def families(self) -> list[str]:
        return list(self.tasks)

    # -- building -------------------------------------------------------------------------------

    @classmethod
    def build(cls, path: str, modules: list[str], verbose: bool = False) -> Index:
        import luigi.task_register

        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        files: dict[str, int] = {}
        for mod in modules:
            if verbose:
                print(f"loading module '{mod}'")
            try:
                importlib.import_module(mod)
            except Exception as e:
                raise UsageError(f"[modules] lists '{mod}', but importing it failed: {type(e).__name__}: {e}") from e
        for mod in modules:
            fpath = _module_file(mod)
            if fpath:
                files[fpath] = _mtime(fpath)
        tasks: dict[str, tuple[str, list[str]]] = {}
        for family, task_cls in luigi.task_register.Register._get_reg().items():
            if not isinstance(task_cls, type):
                continue  # ambiguous family
            modname = task_cls.__module__
            if modname.split(".")[0] in ("luigi", "pipekit", "law") or task_cls.__dict__.get("exclude_index", False):
                continue
            if not has_run_implementation(task_cls):
                continue  # an abstract base of the analysis: nothing to run (as in law)
            excluded = set(getattr(task_cls, "exclude_params_index", ()) or ())
            params = [n.replace("_", "-") for n, _ in task_cls.get_params() if n not in excluded]
            tasks[family] = (modname, params)
            # the module file of tasks defined outside the listed modules matters too
            fpath = _module_file(modname)
            if fpath and fpath not in files:
                files[fpath] = _mtime(fpath)
        return cls(path, list(modules), files, tasks)

    def write(self) -> None:
        os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
        lines = [_HEADER, "#modules " + ",".join(self.modules)]
        lines += [f"#file {p} {m}" for p, m in self.files.items()]
        lines += [":".join([mod, fam, *params]) for fam, (mod, params) in sorted(self.tasks.items())]
        tmp = self.path + f".tmp{os.getpid()}"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(tmp, self.path)


def execute(args: list[str], prog: str = "pipekit index") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Write the index of task families.")
    parser.add_argument("--modules", "-m", nargs="+", help="modules to index instead of [modules]")
    parser.add_argument("--show", "-s", action="store_true", help="print the indexed tasks")
    parser.add_argument("--location", "-l", action="store_true", help="print where the index is")
    parser.add_argument("--remove", "-r", action="store_true", help="remove the index file")
    parser.add_argument("--verbose", "-v", action="store_true", help="say what is indexed")
    opts = parser.parse_args(args)
    from pipekit.config import Config

    cfg = Config.instance()
    path = cfg.index_file()
    if opts.location:
        print(path)
        return 0
    if opts.remove:
        if os.path.exists(path):
            os.remove(path)
            print(f"removed index file {path}")
        return 0
    modules = opts.modules or cfg.modules()
    if not modules:
        print("no modules to index: list them under [modules] in law.cfg or pass --modules", file=sys.stderr)
    index = Index.build(path, modules, verbose=opts.verbose)
    index.write()
    if opts.show or opts.verbose:
        by_module: dict[str, list[str]] = {}
        for fam, (mod, _) in sorted(index.tasks.items()):
            by_module.setdefault(mod, []).append(fam)
        for mod, fams in by_module.items():
            print(f"module '{mod}', {len(fams)} task(s):")
            for fam in fams:
                print(f"    - {fam}")
    print(f"written {len(index.tasks)} task(s) to index file '{path}'")
    return 0
