"""
Formatters turn files into Python objects and back: ``target.load()`` / ``target.dump(obj)``.

With ``formatter="auto"`` (the default) the first registered formatter that accepts the file's
extension is used; ``formatter="json"`` picks one by name. Defining a subclass of
:class:`Formatter` with a ``name`` registers it. Formatters receive local paths (targets localize
remote files first) and are always handed a temporary path when writing, which the target renames
into place, so they need not care about atomicity.

=========== ============================================= ==============================
name        extensions (auto)                             load / dump
=========== ============================================= ==============================
text        .txt .log                                     str
json        .json                                         json.load / json.dump
yaml        .yaml .yml                                    needs ``pipekit[yaml]``
pickle      .pkl .pickle .p                               pickle
tar         .tar .tar.gz .tgz .tar.bz2 .tbz2 .tar.xz .txz extract to *dst* / pack *src*
zip         .zip                                          extract to *dst* / pack *src*
gzip        .gz                                           bytes
python      .py                                           module object / source text
numpy       .npy .npz                                     needs ``pipekit[numpy]``
pandas      .csv .parquet .h5 .hdf5 .feather              ``pipekit[pandas]`` (+ ``[parquet]``, ``[hdf5]``)
matplotlib  .png .pdf .svg .jpg .jpeg .eps (dump only)    saves a figure, ``pipekit[matplotlib]``
=========== ============================================= ==============================

law's contrib packages add formatters (``law.contrib.load("root")``: ``uproot``, ``root``, ...;
see :mod:`pipekit.target.hep_formats` and :mod:`pipekit.target.ml_formats`). As in law, they
take part in ``"auto"`` once their package is loaded, in the order packages were loaded, after
the core formatters (text ... python) and before pipekit's built-in numpy, pandas and matplotlib
formatters of packages not loaded. By name they always work: ``formatter="uproot"`` imports its
package. A formatter whose ``dump()`` opens a file for the caller to fill (``h5py``, ``uproot``,
``root``) says so in :meth:`Formatter.dump_opens`; the target then moves the file into place
only when that handle is closed (see :mod:`pipekit.target.handle`).
"""

from __future__ import annotations

import gzip
import json
import os
import pickle
import re
import tarfile
import zipfile
from typing import Any

from pipekit.errors import FormatterError, MissingExtraError
from pipekit.structure import make_list

__all__ = ["AUTO_FORMATTER", "Formatter", "get_formatter", "find_formatters", "find_formatter",
           "formatters", "activate_contrib", "require_module", "path_of", "path_ends", "path_ext"]

AUTO_FORMATTER = "auto"

#: registered formatter classes by name, in registration order
formatters: dict[str, type[Formatter]] = {}

#: contrib packages whose formatters joined "auto", in the order they were loaded
_active_contribs: list[str] = []

#: formatter name -> the contrib module defining it, imported when the name is asked for
_FORMATTER_MODULES = {
    "uproot": "root", "root": "root", "root_numpy": "root", "root_pandas": "root",
    "awkward": "awkward", "dask_awkward": "awkward", "coffea": "coffea", "h5py": "hdf5",
    "parquet": "pyarrow", "parquet_table": "pyarrow", "keras_model": "keras",
    "keras_weights": "keras", "tf_keras": "keras", "tf_graph": "tensorflow",
    "tf_saved_model": "tensorflow", "tf_keras_model": "tensorflow",
    "tf_keras_weights": "tensorflow", "torch_model": "torch",
}


def activate_contrib(name: str) -> None:
    """Let the formatters of contrib package *name* take part in "auto" (idempotent)."""
    if name not in _active_contribs:
        _active_contribs.append(name)


def _path(p: Any) -> str:
    return getattr(p, "path", None) or str(p)


def _ends(path: Any, *exts: str) -> bool:
    return _path(path).lower().endswith(exts)


def _archive_members(src: Any, what: str) -> list[tuple[str, str]]:
    """
    ``(path, name in the archive)`` for everything an archive of *src* holds at its top level: a
    single directory contributes its content, anything else (files, several directories) each
    source under its basename.
    """
    srcs = [os.path.abspath(_path(s)) for s in make_list(src)]
    if len(srcs) == 1 and os.path.isdir(srcs[0]):
        return [(os.path.join(srcs[0], n), n) for n in sorted(os.listdir(srcs[0]))]
    members = [(s, os.path.basename(s)) for s in srcs]
    seen: dict[str, str] = {}
    for s, name in members:
        if name in seen:
            raise FormatterError(
                f"cannot pack {seen[name]} and {s} into one {what} archive: both would be named "
                f"'{name}'; put them into one directory and pack that instead"
            )
        seen[name] = s
    return members


def _require(module: str, extra: str, purpose: str, hint: str | None = None) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingExtraError(module.split(".")[0], extra, purpose, hint) from None


#: the marker of a temporary sibling's name when the final name has no extension (the names
#: pipekit.target.tmpnames makes: ``.pktmp-<host>-<pid>-<id>``, older ones without the host)
_TMP_MARK = re.compile(r"^\.pktmp-(?:[0-9a-f]{6}-)?\d+-[0-9a-f]+$")


def path_ext(path: Any) -> str:
    """
    The extension of *path*'s final name: targets hand formatters a hidden temporary sibling
    (``.model.pktmp-<pid>-<id>.keras``), which keeps the extension, or ends in the marker when
    the final name has none.
    """
    ext = os.path.splitext(_path(path))[1]
    return "" if _TMP_MARK.match(ext) else ext


#: public names of the helpers, for the formatter modules of contrib packages
require_module = _require
path_of = _path
path_ends = _ends


class Formatter:
    """
    Base class: set ``name`` and implement :meth:`accepts`, :meth:`load` and :meth:`dump` as
    classmethods. Subclasses with a name register themselves.
    """

    name: str | None = None
    #: the law contrib package the formatter belongs to (None: a core formatter)
    contrib: str | None = None

    LOAD = "load"
    DUMP = "dump"

    def __init_subclass__(cls, **kwargs: Any):
        super().__init_subclass__(**kwargs)
        if not cls.name:
            return
        if cls.name == AUTO_FORMATTER:
            raise ValueError(
                f"formatter {cls.__name__} must not be named '{AUTO_FORMATTER}' (reserved for "
                "choosing by extension); choose another name"
            )
        if cls.name in formatters and formatters[cls.name].__qualname__ != cls.__qualname__:
            raise ValueError(
                f"cannot register formatter {cls.__qualname__}: the name '{cls.name}' belongs to "
                f"{formatters[cls.name].__qualname__}; choose another name"
            )
        formatters[cls.name] = cls

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return False

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        raise FormatterError(f"formatter '{cls.name}' cannot load files")

    @classmethod
    def dump(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        raise FormatterError(f"formatter '{cls.name}' cannot dump files")

    @classmethod
    def dump_opens(cls, *args: Any, **kwargs: Any) -> bool:
        """
        True when ``dump(path, *args, **kwargs)`` returns an open file for the caller to write
        (then the target commits the file when it is closed, not when ``dump`` returns).
        """
        return False


def _ordered() -> list[type[Formatter]]:
    """Formatters in the order "auto" tries them (see the module docstring)."""
    core = [f for f in formatters.values() if f.contrib is None]
    active = [f for c in _active_contribs for f in formatters.values() if f.contrib == c]
    rest = [f for f in formatters.values() if f.contrib is not None and f.contrib not in _active_contribs]
    return core + active + rest


def get_formatter(name: str, silent: bool = False) -> type[Formatter] | None:
    """The formatter registered as *name* (importing the contrib package that defines it)."""
    fmt = formatters.get(name)
    if fmt is None and name in _FORMATTER_MODULES:
        import importlib

        importlib.import_module(f"pipekit.contrib.{_FORMATTER_MODULES[name]}")
        fmt = formatters.get(name)
    if fmt is None and not silent:
        raise FormatterError(
            f"no formatter named '{name}'; known formatters: {', '.join(formatters)}"
        )
    return fmt


def find_formatters(path: Any, mode: str, silent: bool = True) -> list[type[Formatter]]:
    """All formatters accepting *path* for *mode* (``"load"`` or ``"dump"``), in order."""
    found = [f for f in _ordered() if f.accepts(_path(path), mode)]
    if not found and not silent:
        raise FormatterError(
            f"no formatter can {mode} '{os.path.basename(_path(path))}' by its extension; pass "
            f"formatter=NAME (one of {', '.join(formatters)}) or register your own Formatter"
        )
    return found


def find_formatter(path: Any, mode: str, name: str = AUTO_FORMATTER) -> type[Formatter]:
    """The formatter for *path*: by *name*, or the first that accepts it when *name* is auto."""
    if name == AUTO_FORMATTER or name is None:
        return find_formatters(path, mode, silent=False)[0]
    if isinstance(name, type) and issubclass(name, Formatter):
        return name
    return get_formatter(name)  # type: ignore[return-value]


class TextFormatter(Formatter):
    name = "text"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".txt", ".log")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> str:
        with open(_path(path)) as f:
            return f.read(*args, **kwargs)

    @classmethod
    def dump(cls, path: str, content: Any, *args: Any, **kwargs: Any) -> None:
        with open(_path(path), "w") as f:
            f.write(str(content), *args, **kwargs)


class JSONFormatter(Formatter):
    name = "json"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".json")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        with open(_path(path)) as f:
            return json.load(f, *args, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, *args: Any, **kwargs: Any) -> None:
        with open(_path(path), "w") as f:
            json.dump(obj, f, *args, **kwargs)


class YAMLFormatter(Formatter):
    name = "yaml"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".yaml", ".yml")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        yaml = _require("yaml", "yaml", "the yaml formatter")
        with open(_path(path)) as f:
            return yaml.safe_load(f, *args, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, *args: Any, **kwargs: Any) -> None:
        yaml = _require("yaml", "yaml", "the yaml formatter")
        with open(_path(path), "w") as f:
            yaml.safe_dump(obj, f, *args, **kwargs)


class PickleFormatter(Formatter):
    name = "pickle"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".pkl", ".pickle", ".p")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        with open(_path(path), "rb") as f:
            return pickle.load(f, *args, **kwargs)

    @classmethod
    def dump(cls, path: str, obj: Any, *args: Any, **kwargs: Any) -> None:
        with open(_path(path), "wb") as f:
            pickle.dump(obj, f, *args, **kwargs)


_TAR_COMPRESSION = (
    ((".tar.gz", ".tgz"), "gz"),
    ((".tar.bz2", ".tbz2"), "bz2"),
    ((".tar.xz", ".txz"), "xz"),
    ((".tar",), ""),
)


class TarFormatter(Formatter):
    """
    ``load(path, dst)`` extracts into directory *dst*; ``dump(path, src)`` packs *src*: the content
    of a single directory, or each of several files/directories under its own name.
    """

    name = "tar"

    @classmethod
    def compression(cls, path: str) -> str | None:
        for exts, comp in _TAR_COMPRESSION:
            if _ends(path, *exts):
                return comp
        return None

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return cls.compression(path) is not None

    @classmethod
    def load(cls, path: str, dst: Any, mode: str | None = None, **kwargs: Any) -> None:
        comp = cls.compression(path) or ""
        with tarfile.open(_path(path), mode or ("r:" + comp if comp else "r")) as f:
            extract_kwargs = dict(kwargs.pop("extractall_kwargs", {}))
            if hasattr(tarfile, "data_filter"):
                extract_kwargs.setdefault("filter", "data")
            f.extractall(_path(dst), **extract_kwargs)

    @classmethod
    def dump(cls, path: str, src: Any, mode: str | None = None, **kwargs: Any) -> None:
        comp = cls.compression(path) or ""
        members = _archive_members(src, "tar")
        add_kwargs = kwargs.pop("add_kwargs", {})
        with tarfile.open(_path(path), mode or ("w:" + comp if comp else "w"), **kwargs) as f:
            for member, arcname in members:
                f.add(member, arcname=arcname, **add_kwargs)


class ZipFormatter(Formatter):
    """
    ``load(path, dst)`` extracts into *dst*; ``dump(path, src)`` packs *src* like the tar
    formatter: the content of a single directory, or each source under its own name.
    """

    name = "zip"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".zip")

    @classmethod
    def load(cls, path: str, dst: Any, **kwargs: Any) -> None:
        with zipfile.ZipFile(_path(path), "r", **kwargs) as f:
            f.extractall(_path(dst))

    @classmethod
    def dump(cls, path: str, src: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compression", zipfile.ZIP_DEFLATED)
        members = _archive_members(src, "zip")
        with zipfile.ZipFile(_path(path), "w", **kwargs) as f:
            for member, arcname in members:
                f.write(member, arcname)  # a directory gets an entry, so empty ones survive
                if not os.path.isdir(member):
                    continue
                for root, dirs, files in os.walk(member):
                    for name in sorted(dirs) + sorted(files):
                        full = os.path.join(root, name)
                        f.write(full, os.path.join(arcname, os.path.relpath(full, member)))


class GZipFormatter(Formatter):
    """Reads and writes the decompressed bytes (``str`` is encoded as UTF-8)."""

    name = "gzip"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".gz") and not _ends(path, ".tar.gz")

    @classmethod
    def load(cls, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        with gzip.open(_path(path), mode, **kwargs) as f:
            return f.read()

    @classmethod
    def dump(cls, path: str, obj: Any, mode: str | None = None, **kwargs: Any) -> None:
        if mode is None:
            mode = "wt" if isinstance(obj, str) else "wb"
        with gzip.open(_path(path), mode, **kwargs) as f:
            f.write(obj)


class PythonFormatter(Formatter):
    """``load`` executes the file and returns it as a module; ``dump`` writes source text."""

    name = "python"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".py")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        import importlib.util

        name = os.path.splitext(os.path.basename(_path(path)))[0].lstrip(".") or "module"
        spec = importlib.util.spec_from_file_location(name, _path(path))
        module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
        spec.loader.exec_module(module)  # type: ignore[union-attr]
        return module

    @classmethod
    def dump(cls, path: str, source: Any, *args: Any, **kwargs: Any) -> None:
        with open(_path(path), "w") as f:
            f.write(str(source))


class NumpyFormatter(Formatter):
    """``.npy``: one array; ``.npz``: ``dump(path, a=..., b=...)`` and a dict-like on load."""

    name = "numpy"
    contrib = "numpy"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".npy", ".npz")

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        np = _require("numpy", "numpy", "the numpy formatter")
        data = np.load(_path(path), *args, **kwargs)
        if isinstance(data, np.lib.npyio.NpzFile):
            with data:
                return {k: data[k] for k in data.files}
        return data

    @classmethod
    def dump(cls, path: str, *args: Any, **kwargs: Any) -> None:
        np = _require("numpy", "numpy", "the numpy formatter")
        p = _path(path)
        if p.lower().endswith(".npz"):
            savez = np.savez_compressed if kwargs.pop("compressed", True) else np.savez
            with open(p, "wb") as f:
                savez(f, *args, **kwargs)
        else:
            with open(p, "wb") as f:
                np.save(f, *args, **kwargs)


class DataFrameFormatter(Formatter):
    """pandas DataFrames as CSV, parquet, HDF5 (``key=`` defaults to ``"data"``) or feather."""

    name = "pandas"
    contrib = "pandas"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return _ends(path, ".csv", ".parquet", ".h5", ".hdf5", ".feather")

    @classmethod
    def _require_engine(cls, path: str) -> Any:
        """pandas, plus the engine the file type needs (pyarrow or PyTables)."""
        pd = _require("pandas", "pandas", "the pandas formatter")
        if _ends(path, ".parquet", ".feather"):
            _require("pyarrow", "parquet", f"reading and writing {os.path.splitext(_path(path))[1]} files")
        elif _ends(path, ".h5", ".hdf5"):
            _require("tables", "hdf5", "reading and writing HDF5 files")
        return pd

    @classmethod
    def load(cls, path: str, *args: Any, **kwargs: Any) -> Any:
        pd = cls._require_engine(path)
        p = _path(path)
        low = p.lower()
        if low.endswith(".csv"):
            return pd.read_csv(p, *args, **kwargs)
        if low.endswith(".parquet"):
            return pd.read_parquet(p, *args, **kwargs)
        if low.endswith(".feather"):
            return pd.read_feather(p, *args, **kwargs)
        kwargs.setdefault("key", "data")
        return pd.read_hdf(p, *args, **kwargs)

    @classmethod
    def dump(cls, path: str, df: Any, *args: Any, **kwargs: Any) -> None:
        cls._require_engine(path)
        p = _path(path)
        low = p.lower()
        if low.endswith(".csv"):
            kwargs.setdefault("index", False)
            df.to_csv(p, *args, **kwargs)
        elif low.endswith(".parquet"):
            df.to_parquet(p, *args, **kwargs)
        elif low.endswith(".feather"):
            df.to_feather(p, *args, **kwargs)
        else:
            kwargs.setdefault("key", "data")
            df.to_hdf(p, *args, **kwargs)


class MatplotlibFormatter(Formatter):
    """Saves a matplotlib figure (``dump(path, fig)``); the format follows the extension."""

    name = "matplotlib"
    contrib = "matplotlib"

    @classmethod
    def accepts(cls, path: str, mode: str) -> bool:
        return mode == "dump" and _ends(path, ".png", ".pdf", ".svg", ".jpg", ".jpeg", ".eps")

    @classmethod
    def dump(cls, path: str, fig: Any, *args: Any, **kwargs: Any) -> None:
        _require("matplotlib", "matplotlib", "the matplotlib formatter")
        p = _path(path)
        fmt = kwargs.pop("format", os.path.splitext(p)[1].lstrip(".").lower())
        close = kwargs.pop("close", True)
        fig.savefig(p, *args, format=fmt, **kwargs)
        if close:
            import matplotlib.pyplot as plt

            plt.close(fig)
