"""Tests for pipekit.target.formatter: choosing formatters, built-ins, extras, user formatters."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import tarfile
import textwrap
import zipfile

import pytest

import pipekit.target.formatter as fmt_module
from pipekit.errors import FormatterError, MissingExtraError
from pipekit.target.formatter import (
    Formatter,
    find_formatter,
    find_formatters,
    formatters,
    get_formatter,
)
from pipekit.target.local import LocalDirectoryTarget, LocalFileTarget

np = pytest.importorskip("numpy")
pd = pytest.importorskip("pandas")

HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None
HAS_TABLES = importlib.util.find_spec("tables") is not None


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the formatter registry, so formatters defined in a test vanish after it."""
    copy = dict(fmt_module.formatters)
    monkeypatch.setattr(fmt_module, "formatters", copy)
    return copy


# -- choosing a formatter -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, expected",
    [
        ("a.txt", "text"),
        ("run.log", "text"),
        ("a.json", "json"),
        ("a.yaml", "yaml"),
        ("a.yml", "yaml"),
        ("a.pkl", "pickle"),
        ("a.pickle", "pickle"),
        ("a.p", "pickle"),
        ("a.tar", "tar"),
        ("a.tar.gz", "tar"),
        ("a.tgz", "tar"),
        ("a.tar.bz2", "tar"),
        ("a.tar.xz", "tar"),
        ("a.zip", "zip"),
        ("a.gz", "gzip"),
        ("a.py", "python"),
        ("a.npy", "numpy"),
        ("a.npz", "numpy"),
        ("a.csv", "pandas"),
        ("a.parquet", "pandas"),
        ("a.h5", "pandas"),
        ("A.JSON", "json"),
        ("/some/dir.v2/data.v3.json", "json"),
    ],
)
def test_auto_picks_formatter_by_extension(name, expected):
    assert find_formatter(name, "load").name == expected
    assert find_formatter(name, "dump").name == expected


def test_matplotlib_is_chosen_for_images_only_when_dumping():
    assert find_formatter("plot.png", "dump").name == "matplotlib"
    assert find_formatter("plot.pdf", "dump").name == "matplotlib"
    with pytest.raises(FormatterError, match="no formatter can load 'plot.png'"):
        find_formatter("plot.png", "load")


def test_unknown_extension_lists_known_formatters(tmp_path):
    with pytest.raises(FormatterError) as exc:
        LocalFileTarget(tmp_path / "data.weird").dump({"a": 1})

    message = str(exc.value)
    assert "data.weird" in message
    for name in ("text", "json", "yaml", "pickle", "tar", "zip", "numpy", "pandas"):
        assert name in message
    assert not os.listdir(tmp_path)


def test_formatter_can_be_chosen_by_name(tmp_path):
    t = LocalFileTarget(tmp_path / "data.weird")

    t.dump({"a": 1}, formatter="json")

    assert t.load(formatter="json") == {"a": 1}
    assert get_formatter("json") is find_formatter("x.weird", "load", "json")


def test_unknown_formatter_name_lists_known_formatters(tmp_path):
    with pytest.raises(FormatterError) as exc:
        LocalFileTarget(tmp_path / "x.json").dump({}, formatter="jsn")

    assert "'jsn'" in str(exc.value)
    assert "json" in str(exc.value).split("known formatters")[-1]
    assert get_formatter("jsn", silent=True) is None


def test_find_formatters_lists_every_accepting_formatter_in_registration_order(registry):
    class AlsoJSON(Formatter):
        name = "also_json"

        @classmethod
        def accepts(cls, path, mode):
            return path.endswith(".json")

    # formatters of law contrib packages (awkward's accepts .json too) come after the core ones
    names = [f.name for f in find_formatters("x.json", "load")]
    assert names[:2] == ["json", "also_json"]
    assert all(formatters[n].contrib is not None for n in names[2:])
    assert find_formatters("x.unknown", "load") == []


def test_base_formatter_refuses_to_load_and_dump_naming_itself(registry):
    class WriteOnly(Formatter):
        name = "write_only"

    with pytest.raises(FormatterError, match="'write_only' cannot load"):
        WriteOnly.load("x")
    with pytest.raises(FormatterError, match="'write_only' cannot dump"):
        WriteOnly.dump("x", 1)


# -- built-in formatters --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, obj",
    [
        ("a.txt", "some text\nline two"),
        ("a.json", {"a": [1, 2.5, None], "b": "c"}),
        ("a.yaml", {"a": [1, 2], "b": {"c": "d"}}),
        ("a.yml", ["x", "y"]),
        ("a.pkl", {"set": {1, 2}, "tuple": (1, "a")}),
    ],
)
def test_round_trip_of_plain_objects(tmp_path, name, obj):
    t = LocalFileTarget(tmp_path / name)

    t.dump(obj)

    assert t.load() == obj


def test_text_formatter_writes_str_of_the_object(tmp_path):
    t = LocalFileTarget(tmp_path / "n.txt")

    t.dump(42)

    assert (tmp_path / "n.txt").read_text() == "42"


def test_gzip_formatter_compresses_text_and_bytes(tmp_path):
    import gzip

    LocalFileTarget(tmp_path / "t.gz").dump("text")
    LocalFileTarget(tmp_path / "b.gz").dump(b"\x00\x01")

    assert gzip.decompress((tmp_path / "t.gz").read_bytes()) == b"text"
    assert LocalFileTarget(tmp_path / "b.gz").load() == b"\x00\x01"
    assert LocalFileTarget(tmp_path / "t.gz").load(mode="rt") == "text"


def test_python_formatter_loads_a_module_and_dumps_source(tmp_path):
    t = LocalFileTarget(tmp_path / "settings.py")

    t.dump("X = 5\ndef f():\n    return X * 2\n")
    module = t.load()

    assert module.X == 5
    assert module.f() == 10


def test_numpy_npy_round_trip(tmp_path):
    t = LocalFileTarget(tmp_path / "a.npy")
    arr = np.arange(12, dtype=np.float32).reshape(3, 4)

    t.dump(arr)
    loaded = t.load()

    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded, arr)


@pytest.mark.parametrize("compressed", [True, False])
def test_numpy_npz_round_trip_gives_a_dict(tmp_path, compressed):
    t = LocalFileTarget(tmp_path / "a.npz")

    t.dump(x=np.arange(3), y=np.ones((2, 2)), compressed=compressed)
    loaded = t.load()

    assert sorted(loaded) == ["x", "y"]
    np.testing.assert_array_equal(loaded["x"], np.arange(3))
    np.testing.assert_array_equal(loaded["y"], np.ones((2, 2)))


def test_pandas_csv_round_trip_without_index(tmp_path):
    t = LocalFileTarget(tmp_path / "df.csv")
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})

    t.dump(df)

    assert (tmp_path / "df.csv").read_text().splitlines()[0] == "a,b"
    pd.testing.assert_frame_equal(t.load(), df)


@pytest.mark.skipif(not HAS_PYARROW, reason="parquet needs pyarrow, which is not installed")
def test_pandas_parquet_round_trip(tmp_path):
    t = LocalFileTarget(tmp_path / "df.parquet")
    df = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})

    t.dump(df)

    pd.testing.assert_frame_equal(t.load(), df)


@pytest.mark.skipif(not HAS_TABLES, reason="HDF5 needs pytables, which is not installed")
def test_pandas_hdf5_round_trip(tmp_path):
    t = LocalFileTarget(tmp_path / "df.h5")
    df = pd.DataFrame({"a": [1, 2], "b": [0.5, 1.5]})

    t.dump(df)

    pd.testing.assert_frame_equal(t.load(), df)


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("pdf", b"%PDF"), ("svg", b"<?xml")])
def test_matplotlib_saves_figure_in_format_of_extension_and_closes_it(tmp_path, ext, magic):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    LocalFileTarget(tmp_path / f"plot.{ext}").dump(fig)

    assert (tmp_path / f"plot.{ext}").read_bytes().startswith(magic)
    assert fig.number not in plt.get_fignums()


# -- archives -------------------------------------------------------------------------------------


@pytest.fixture
def pack(tmp_path):
    """pack/{a.txt, sub/b.txt, empty/}"""
    d = LocalDirectoryTarget(tmp_path / "pack")
    d.child("a.txt", "f").dump("A")
    d.child("sub/b.txt", "f").dump("B")
    d.child("empty", "d").touch()
    return d


@pytest.mark.parametrize("name", ["p.tar", "p.tar.gz", "p.tgz", "p.tar.bz2", "p.tar.xz", "p.zip"])
def test_archive_of_a_directory_holds_its_content_and_extracts_to_dst(tmp_path, pack, name):
    archive = LocalFileTarget(tmp_path / name)

    archive.dump(pack)
    archive.load(LocalDirectoryTarget(tmp_path / "out"))

    out = tmp_path / "out"
    assert sorted(os.listdir(out)) == ["a.txt", "empty", "sub"]
    assert (out / "a.txt").read_text() == "A"
    assert (out / "sub" / "b.txt").read_text() == "B"


@pytest.mark.parametrize("name", ["several.tar", "several.zip"])
def test_archive_of_several_sources_holds_each_under_its_name(tmp_path, pack, name):
    other = tmp_path / "elsewhere" / "deeper" / "c.txt"
    other.parent.mkdir(parents=True)
    other.write_text("C")
    archive = LocalFileTarget(tmp_path / name)

    archive.dump([pack.child("a.txt", "f"), pack.child("sub", "d"), str(other)])
    archive.load(str(tmp_path / "out"))

    out = tmp_path / "out"
    assert sorted(os.listdir(out)) == ["a.txt", "c.txt", "sub"]
    assert (out / "sub" / "b.txt").read_text() == "B"


def test_archive_of_two_files_of_one_directory_holds_just_their_names(tmp_path):
    (tmp_path / "two").mkdir()
    (tmp_path / "two" / "x").write_text("x")
    (tmp_path / "two" / "y").write_text("y")

    LocalFileTarget(tmp_path / "two.tar").dump(
        [str(tmp_path / "two" / "x"), str(tmp_path / "two" / "y")]
    )

    assert tarfile.open(tmp_path / "two.tar").getnames() == ["x", "y"]


@pytest.mark.parametrize("name", ["clash.tar", "clash.zip"])
def test_archive_refuses_two_sources_with_the_same_name(tmp_path, name):
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
        (tmp_path / d / "same.txt").write_text(d)

    with pytest.raises(FormatterError, match="same.txt"):
        LocalFileTarget(tmp_path / name).dump(
            [str(tmp_path / "a" / "same.txt"), str(tmp_path / "b" / "same.txt")]
        )

    assert not (tmp_path / name).exists()


def test_tar_member_escaping_the_destination_is_refused(tmp_path):
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as f:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        f.addfile(info, io.BytesIO(b"bad"))
    (tmp_path / "dst").mkdir()

    with pytest.raises(tarfile.TarError):
        LocalFileTarget(evil).load(str(tmp_path / "dst"))

    assert not (tmp_path / "escaped.txt").exists()


def test_zip_archive_is_deflated(tmp_path, pack):
    LocalFileTarget(tmp_path / "p.zip").dump(pack)

    with zipfile.ZipFile(tmp_path / "p.zip") as z:
        assert z.getinfo("a.txt").compress_type == zipfile.ZIP_DEFLATED


# -- missing optional dependencies ----------------------------------------------------------------


@pytest.mark.parametrize(
    "module, filename, obj",
    [
        ("yaml", "x.yaml", {"a": 1}),
        ("numpy", "x.npy", [1, 2]),
        ("pandas", "x.csv", None),
        ("matplotlib", "x.png", None),
    ],
)
def test_missing_optional_dependency_names_the_pip_extra(
    tmp_path, monkeypatch, module, filename, obj
):
    monkeypatch.setitem(sys.modules, module, None)  # "import module" now fails
    target = LocalFileTarget(tmp_path / filename)

    with pytest.raises(MissingExtraError) as exc:
        target.dump(obj)

    assert exc.value.extra == module
    assert f"pip install 'pipekit[{module}]'" in str(exc.value)
    assert f"'{module}'" in str(exc.value)
    assert isinstance(exc.value, ImportError)
    assert not os.listdir(tmp_path)  # nothing half-written


def test_missing_yaml_when_loading(tmp_path, monkeypatch):
    (tmp_path / "x.yaml").write_text("a: 1\n")
    monkeypatch.setitem(sys.modules, "yaml", None)

    with pytest.raises(MissingExtraError, match=r"pipekit\[yaml\]"):
        LocalFileTarget(tmp_path / "x.yaml").load()


def test_process_without_yaml_gets_missing_extra_error(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        sys.modules["yaml"] = None
        from pipekit.errors import MissingExtraError
        from pipekit.target.local import LocalFileTarget
        try:
            LocalFileTarget({str(tmp_path / "c.yml")!r}).dump({{"a": 1}})
        except MissingExtraError as e:
            print("MISSING", e.extra, e)
    """)

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)

    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("MISSING yaml ")
    assert "pip install 'pipekit[yaml]'" in out.stdout
    assert not (tmp_path / "c.yml").exists()


# -- user formatters ------------------------------------------------------------------------------


def test_user_formatter_is_registered_and_chosen_by_extension_and_name(tmp_path, registry):
    class ShoutFormatter(Formatter):
        name = "shout"

        @classmethod
        def accepts(cls, path, mode):
            return path.endswith(".shout")

        @classmethod
        def load(cls, path, *args, **kwargs):
            with open(path) as f:
                return f.read().lower()

        @classmethod
        def dump(cls, path, text, *args, **kwargs):
            with open(path, "w") as f:
                f.write(text.upper())

    t = LocalFileTarget(tmp_path / "msg.shout")
    t.dump("hello")

    assert registry["shout"] is ShoutFormatter
    assert (tmp_path / "msg.shout").read_text() == "HELLO"
    assert t.load() == "hello"
    other = LocalFileTarget(tmp_path / "msg.txt")
    other.dump("quiet", formatter="shout")
    assert other.load() == "QUIET"
    assert other.load(formatter=ShoutFormatter) == "quiet"


def test_formatter_name_clash_and_reserved_name_are_refused(registry):
    with pytest.raises(ValueError, match="'json'.*choose another name"):

        class MyJSON(Formatter):
            name = "json"

    with pytest.raises(ValueError, match="'auto'"):

        class Auto(Formatter):
            name = "auto"

    assert registry["json"].__module__ == "pipekit.target.formatter"
    assert "auto" not in registry
