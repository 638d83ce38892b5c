"""
Formatters for the file formats of particle physics, with the names law's contrib packages give
them: ROOT files through PyROOT (``root``, :class:`GuardedTFile`) or uproot (``uproot``; law's
order, so ``"auto"`` picks ``root`` for ``.root`` once law.root is loaded),
awkward arrays (``awkward``, ``dask_awkward``), coffea outputs (``coffea``), HDF5 through h5py
(``h5py``) and parquet through pyarrow (``parquet``, ``parquet_table``).

Each library is imported on first use; a missing one raises
:class:`pipekit.errors.MissingExtraError` naming ``pip install 'pipekit[hep]'`` (PyROOT, which
pip does not provide, names how to get ROOT). The formatters join ``formatter="auto"`` when
their contrib package is loaded (``law.contrib.load("root")``), as in law.

=============== ======================= ===================================================
name            extensions              load / dump
=============== ======================= ===================================================
uproot          .root                   ``uproot.open`` / an uproot file to fill, or
                                        ``dump(path, {"tree": {...}, "hist": h})``
root            .root                   :class:`GuardedTFile` (PyROOT) for reading / writing
awkward         .parquet .parq .json    ``ak.from_parquet`` ... / ``ak.to_parquet`` ...
                .pickle .pkl
coffea          .coffea .root .parquet  NanoEvents for .root/.parquet, ``coffea.util.load``
                                        / ``coffea.util.save``
h5py            .hdf5 .h5               ``h5py.File`` (read) / a file to fill, or
                                        ``dump(path, {"name": array})``
parquet         .parquet .parq          ``pyarrow.parquet.ParquetFile`` (load only)
parquet_table   .parquet .parq          ``pyarrow.parquet.read_table`` / ``write_table``
=============== ======================= ===================================================
"""

from __future__ import annotations

import inspect
import pathlib
import pickle
from typing import Any, Mapping

from pipekit.errors import FormatterError
from pipekit.target.formatter import Formatter, path_ends, path_of, require_module

__all__ = [
    "import_ROOT", "GuardedTFile", "UprootFormatter", "ROOTFormatter", "ROOTNumpyFormatter",
    "ROOTPandasFormatter", "AwkwardFormatter", "DaskAwkwardFormatter", "from_parquet",
    "CoffeaFormatter", "H5pyFormatter", "ParquetFormatter", "ParquetTableFormatter",
]

HEP = "hep"
ROOT_HINT = ("PyROOT does not come from pip: install ROOT (e.g. 'conda install -c conda-forge "
             "root', or source ROOT's bin/thisroot.sh) or read and write ROOT files with "
             "formatter='uproot' (pip install 'pipekit[hep]')")

_ROOT: Any = None


def import_ROOT(batch: bool = True, ignore_cli: bool = True, reset: bool = False) -> Any:  # noqa: N802
    """
    The ROOT module, imported once, in batch mode (*batch*) and without ROOT reading the
    command line (*ignore_cli*); *reset* applies both settings again. A clear
    :class:`MissingExtraError` when PyROOT is not importable.
    """
    global _ROOT
    first = _ROOT is None
    if first:
        _ROOT = require_module("ROOT", HEP, "ROOT files through PyROOT", ROOT_HINT)
    if first or reset:
        _ROOT.gROOT.SetBatch(batch)
        _ROOT.PyConfig.IgnoreCommandLineOptions = ignore_cli
    return _ROOT


class GuardedTFile:
    """
    A ROOT ``TFile`` that closes itself at the end of a ``with`` block; other attributes are the
    TFile's. ``GuardedTFile(path, mode)`` opens one, ``GuardedTFile(tfile)`` wraps one.
    """

    @classmethod
    def Open(cls, *args: Any, **kwargs: Any) -> GuardedTFile:  # noqa: N802 - ROOT's spelling
        return cls(import_ROOT().TFile.Open(*args, **kwargs))

    def __init__(self, *args: Any, **kwargs: Any):
        object.__setattr__(self, "_guarded_tfile", None)
        ROOT = import_ROOT()  # noqa: N806
        if len(args) == 1 and not kwargs and isinstance(args[0], ROOT.TFile):
            tfile = args[0]
        elif args or kwargs:
            tfile = ROOT.TFile.Open(*args, **kwargs)
            if not tfile or tfile.IsZombie():
                raise FormatterError(f"ROOT could not open {args[0] if args else kwargs}")
        else:
            tfile = None
        object.__setattr__(self, "_guarded_tfile", tfile)

    def __enter__(self) -> Any:
        return self._guarded_tfile

    def __exit__(self, *exc: Any) -> None:
        if self._guarded_tfile is not None and self._guarded_tfile.IsOpen():
            self._guarded_tfile.Close()

    def __getattr__(self, attr: str) -> Any:
        tfile = object.__getattribute__(self, "_guarded_tfile")
        if tfile is None:
            raise AttributeError(f"cannot get '{attr}' of a GuardedTFile that holds no file")
        return getattr(tfile, attr)

    def __setattr__(self, attr: str, value: Any) -> None:
        setattr(self._guarded_tfile, attr, value)


class ROOTFormatter(Formatter):
    """
    ROOT files through PyROOT: ``load(path)`` opens for reading, ``dump(path, "RECREATE")`` for
    writing; both give a :class:`GuardedTFile` (use it in a ``with`` block).
    """

    name = "root"
    contrib = "root"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".root")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> GuardedTFile:
        return GuardedTFile(path_of(path), *args, **kwargs)

    @classmethod
    def dump_opens(cls, *args: Any, **kwargs: Any) -> bool:
        return True

    @classmethod
    def dump(cls, path: str, *args: Any, **kwargs: Any) -> GuardedTFile:
        return GuardedTFile(path_of(path), *(args or ("RECREATE",)), **kwargs)


_UNMAINTAINED = ("{0} is unmaintained and not installable for current ROOT versions; read and "
                 "write ROOT files with formatter='uproot' instead (pip install 'pipekit[hep]')")


class ROOTNumpyFormatter(Formatter):
    """law's formatter over root_numpy (``root2array`` / ``array2root``); needs PyROOT too."""

    name = "root_numpy"
    contrib = "root"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".root")

    @classmethod
    def _root_numpy(cls) -> Any:
        import_ROOT()
        return require_module("root_numpy", HEP, "the root_numpy formatter",
                              _UNMAINTAINED.format("root_numpy"))

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        return cls._root_numpy().root2array(path_of(path), *args, **kwargs)

    @classmethod
    def dump(cls, path: str, arr: Any, *args: Any, **kwargs: Any) -> Any:
        return cls._root_numpy().array2root(arr, path_of(path), *args, **kwargs)


class ROOTPandasFormatter(Formatter):
    """law's formatter over root_pandas (``read_root`` / ``df.to_root``); needs PyROOT too."""

    name = "root_pandas"
    contrib = "root"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".root")

    @classmethod
    def _root_pandas(cls) -> Any:
        import_ROOT()
        return require_module("root_pandas", HEP, "the root_pandas formatter",
                              _UNMAINTAINED.format("root_pandas"))

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        return cls._root_pandas().read_root(path_of(path), *args, **kwargs)

    @classmethod
    def dump(cls, path: str, df: Any, *args: Any, **kwargs: Any) -> Any:
        cls._root_pandas()
        return df.to_root(path_of(path), *args, **kwargs)


class UprootFormatter(Formatter):
    """
    ROOT files through uproot. ``load`` returns the open file (``f["tree"].arrays()``);
    ``dump(path, mode="recreate")`` returns a writable file to fill (``f["h"] = hist``) that is
    moved into place when closed, or ``dump(path, {"key": object, ...})`` writes the objects
    (histograms, ``{"branch": array}`` dicts as TTrees) and closes the file.
    """

    name = "uproot"
    contrib = "root"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".root")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        uproot = require_module("uproot", HEP, "the uproot formatter")
        return uproot.open(path_of(path), *args, **kwargs)

    @classmethod
    def dump_opens(cls, *args: Any, **kwargs: Any) -> bool:
        return not (args and isinstance(args[0], Mapping))

    @classmethod
    def dump(cls, path: str, *args: Any, mode: str = "recreate", **kwargs: Any) -> Any:
        uproot = require_module("uproot", HEP, "the uproot formatter")
        objects = args[0] if args and isinstance(args[0], Mapping) else None
        if objects is None and args:
            mode = args[0]
        if not isinstance(mode, str) or mode.lower() not in ("create", "recreate", "update"):
            raise FormatterError(f"uproot formatter: mode must be create, recreate or update, "
                                 f"got {mode!r}")
        f = getattr(uproot, mode.lower())(path_of(path), **kwargs)
        if objects is None:
            return f
        with f:
            for key, obj in objects.items():
                f[key] = obj
        return None


def from_parquet(*args: Any, use_threads: bool = False, **kwargs: Any) -> Any:
    """
    ``awkward.from_parquet(*args, **kwargs)`` with pyarrow's reading threads off by default
    (*use_threads*): batch jobs sharing a node should not each start a thread per core.
    """
    ak = require_module("awkward", HEP, "reading parquet files into awkward arrays")
    pq = require_module("pyarrow.parquet", HEP, "reading parquet files into awkward arrays")
    from pipekit.objects import patch_object

    read = pq.ParquetFile.read
    spec = inspect.getfullargspec(read)
    defaults = list(read.__defaults__ or ())
    with_default = spec.args[len(spec.args) - len(defaults):]
    if "use_threads" not in with_default:
        raise FormatterError("this pyarrow's ParquetFile.read has no use_threads option; pass "
                             "use_threads=None or update pyarrow")
    defaults[with_default.index("use_threads")] = use_threads
    # awkward offers no way to pass the option through: change the default for this call only
    with patch_object(read, "__defaults__", tuple(defaults), lock=True):
        return ak.from_parquet(*args, **kwargs)


class AwkwardFormatter(Formatter):
    """awkward arrays as parquet (``.parquet``, ``.parq``), JSON or pickle files."""

    name = "awkward"
    contrib = "awkward"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".parquet", ".parq", ".json", ".pickle", ".pkl")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        p = path_of(path)
        if path_ends(p, ".parquet", ".parq"):
            return from_parquet(p, *args, **kwargs)
        if path_ends(p, ".json"):
            ak = require_module("awkward", HEP, "the awkward formatter")
            # awkward reads a str as JSON text, a Path as a file
            return ak.from_json(pathlib.Path(p), *args, **kwargs)
        with open(p, "rb") as f:
            return pickle.load(f, *args, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        p = path_of(path)
        if path_ends(p, ".pickle", ".pkl"):
            with open(p, "wb") as f:
                return pickle.dump(obj, f, *args, **kwargs)
        ak = require_module("awkward", HEP, "the awkward formatter")
        if path_ends(p, ".json"):
            return ak.to_json(obj, p, *args, **kwargs)
        return ak.to_parquet(obj, p, *args, **kwargs)


class DaskAwkwardFormatter(Formatter):
    """Lazy dask-awkward arrays from and to parquet or JSON (``pip install dask-awkward``)."""

    name = "dask_awkward"
    contrib = "awkward"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".parquet", ".parq", ".json")

    @classmethod
    def _dak(cls) -> Any:
        return require_module("dask_awkward", HEP, "the dask_awkward formatter",
                              "install it with: pip install dask-awkward")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        dak = cls._dak()
        p = path_of(path)
        reader = dak.from_json if path_ends(p, ".json") else dak.from_parquet
        return reader(p, *args, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        dak = cls._dak()
        p = path_of(path)
        writer = dak.to_json if path_ends(p, ".json") else dak.to_parquet
        return writer(obj, p, *args, **kwargs)


class CoffeaFormatter(Formatter):
    """
    coffea: ``.root`` and ``.parquet`` load as NanoEvents (``NanoEventsFactory.from_root`` /
    ``from_parquet``, keyword arguments passed on); other files (``.coffea``: accumulators,
    histograms) through ``coffea.util.load`` / ``coffea.util.save``.
    """

    name = "coffea"
    contrib = "coffea"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".coffea", ".root", ".parquet")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        p = path_of(path)
        if path_ends(p, ".root", ".parquet"):
            nanoevents = require_module("coffea.nanoevents", HEP, "the coffea formatter")
            factory = nanoevents.NanoEventsFactory
            if path_ends(p, ".root"):
                # coffea reads {file: treename}; a bare path means the usual "Events" tree
                source = p if kwargs.pop("plain_path", False) else {p: kwargs.pop("treepath", "Events")}
                return factory.from_root(source, *args, **kwargs)
            return factory.from_parquet(p, *args, **kwargs)
        util = require_module("coffea.util", HEP, "the coffea formatter")
        return util.load(p, *args, **kwargs)

    @classmethod
    def dump(cls, path: str, out: Any, *args: Any, **kwargs: Any) -> Any:
        util = require_module("coffea.util", HEP, "the coffea formatter")
        return util.save(out, path_of(path), *args, **kwargs)


class H5pyFormatter(Formatter):
    """
    HDF5 through h5py: ``load`` opens the file for reading (``with target.load() as f``);
    ``dump(path)`` returns a file to fill, moved into place when closed, and
    ``dump(path, {"name": array, ...})`` writes those datasets and closes it.
    """

    name = "h5py"
    contrib = "hdf5"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".hdf5", ".h5")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        h5py = require_module("h5py", HEP, "the h5py formatter")
        return h5py.File(path_of(path), "r", *args, **kwargs)

    @classmethod
    def dump_opens(cls, *args: Any, **kwargs: Any) -> bool:
        return not (args and isinstance(args[0], Mapping))

    @classmethod
    def dump(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        h5py = require_module("h5py", HEP, "the h5py formatter")
        if args and isinstance(args[0], Mapping):
            with h5py.File(path_of(path), "w", **kwargs) as f:
                for key, data in args[0].items():
                    f.create_dataset(key, data=data)
            return None
        return h5py.File(path_of(path), "w", *args, **kwargs)


class ParquetFormatter(Formatter):
    """A ``pyarrow.parquet.ParquetFile`` for reading row groups and metadata (no dump)."""

    name = "parquet"
    contrib = "pyarrow"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return mode == cls.LOAD and path_ends(path, ".parquet", ".parq")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        pq = require_module("pyarrow.parquet", HEP, "the parquet formatter")
        return pq.ParquetFile(path_of(path), *args, **kwargs)


class ParquetTableFormatter(Formatter):
    """pyarrow tables: ``pyarrow.parquet.read_table`` / ``write_table``."""

    name = "parquet_table"
    contrib = "pyarrow"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return path_ends(path, ".parquet", ".parq")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        pq = require_module("pyarrow.parquet", HEP, "the parquet_table formatter")
        return pq.read_table(path_of(path), *args, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        pq = require_module("pyarrow.parquet", HEP, "the parquet_table formatter")
        return pq.write_table(obj, path_of(path), *args, **kwargs)
