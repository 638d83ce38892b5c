"""
The HEP formatters (pipekit.target.hep_formats, law's root / awkward / coffea / hdf5 / pyarrow
packages) on real files written and read by the real libraries.
"""

from __future__ import annotations

import importlib.util
import os
import pickle

import pytest

import pipekit as law
from pipekit.errors import MissingExtraError
from pipekit.target import formatter as fmt

np = pytest.importorskip("numpy")


def need(module: str):
    # the test extra installs these; a missing one is a broken install, not an optional skip
    if importlib.util.find_spec(module) is None:
        if os.getenv("CI", "").lower() == "true":
            pytest.fail(f"{module} is not installed (pip install -e '.[test]')")
        pytest.skip(f"{module} is not installed")
    return importlib.import_module(module)


@pytest.fixture
def out(tmp_path):
    return lambda name: law.LocalFileTarget(str(tmp_path / name))


def hidden_files(directory) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.startswith("."))


# -- uproot -----------------------------------------------------------------------------------


def test_uproot_dump_of_trees_and_histograms_reads_back_with_uproot(out):
    uproot = need("uproot")
    target = out("events.root")
    pt = np.array([10.5, 20.25, 31.0])
    target.dump({"Events": {"pt": pt, "n": np.array([1, 2, 3], dtype=np.int32)},
                 "h_pt": np.histogram(pt, bins=3, range=(0, 40))}, formatter="uproot")
    with target.load(formatter="uproot") as f:
        assert f["Events"].num_entries == 3
        assert f["Events"]["pt"].array(library="np").tolist() == pt.tolist()
        assert f["h_pt"].values().tolist() == [1, 1, 1]
    with uproot.open(target.path) as f:  # a plain ROOT file, not a pipekit container
        assert set(k.split(";")[0] for k in f.keys()) == {"Events", "h_pt"}


def test_uproot_dump_without_objects_gives_a_file_that_appears_only_when_closed(out, tmp_path):
    need("uproot")
    target = out("hist.root")
    with target.dump(formatter="uproot") as f:
        f["h"] = np.histogram([1.0, 2.0], bins=2, range=(0, 4))
        assert not target.exists()  # still the hidden temporary file
    assert target.exists() and hidden_files(tmp_path) == []
    with target.load(formatter="uproot") as f:
        assert f["h"].values().sum() == 2


def test_a_failing_uproot_write_leaves_no_file(out, tmp_path):
    need("uproot")
    target = out("broken.root")
    with pytest.raises(RuntimeError, match="analysis bug"):
        with target.dump(formatter="uproot") as f:
            f["h"] = np.histogram([1.0], bins=1, range=(0, 2))
            raise RuntimeError("analysis bug")
    assert not target.exists() and hidden_files(tmp_path) == []


def test_uproot_dump_rejects_an_unknown_mode(out):
    need("uproot")
    with pytest.raises(Exception, match="mode must be create, recreate or update"):
        out("x.root").dump("append", formatter="uproot")


# -- PyROOT -----------------------------------------------------------------------------------


def test_root_formatter_without_pyroot_says_how_to_get_it(out):
    if importlib.util.find_spec("ROOT") is not None:
        pytest.skip("PyROOT is installed here; the message is for machines without it")
    law.contrib.load("root")
    with pytest.raises(MissingExtraError, match=r"'ROOT' is needed .*does not come from pip.*formatter='uproot'"):
        out("a.root").dump(formatter="root")
    with pytest.raises(MissingExtraError, match="PyROOT"):
        law.root.import_ROOT()


def test_root_formatter_writes_and_reads_a_tfile_with_pyroot(out):
    ROOT = pytest.importorskip("ROOT", reason="PyROOT is not installable from pip")  # noqa: N806
    target = out("t.root")
    with target.dump("RECREATE", formatter="root") as f:
        h = ROOT.TH1F("h", "h", 2, 0, 2)
        h.Fill(1.5)
        h.Write()
    with target.load(formatter="root") as f:
        assert f.Get("h").GetEntries() == 1


# -- awkward ----------------------------------------------------------------------------------


def test_awkward_arrays_round_trip_through_parquet_json_and_pickle(out):
    ak = need("awkward")
    need("pyarrow")
    events = ak.Array([{"pt": [1.0, 2.0], "run": 1}, {"pt": [], "run": 2}, {"pt": [3.5], "run": 3}])
    for name in ("events.parquet", "events.parq", "events.json", "events.pkl"):
        target = out(name)
        target.dump(events, formatter="awkward")
        back = target.load(formatter="awkward")
        assert ak.to_list(back) == ak.to_list(events), name
    with open(out("events.pkl").path, "rb") as f:
        assert ak.to_list(pickle.load(f)) == ak.to_list(events)  # a plain pickle


def test_awkward_from_parquet_reads_without_threads_and_passes_options(out):
    ak = need("awkward")
    need("pyarrow")
    target = out("cols.parquet")
    ak.to_parquet(ak.Array({"a": [1, 2, 3], "b": [4.0, 5.0, 6.0]}), target.path)
    law.contrib.load("awkward")
    back = law.awkward.from_parquet(target.path, columns=["a"])
    assert back.fields == ["a"] and back.a.tolist() == [1, 2, 3]


# -- coffea -----------------------------------------------------------------------------------


def test_coffea_saves_and_loads_accumulators_and_reads_nanoevents(out):
    need("coffea")
    uproot = need("uproot")
    acc = {"cutflow": {"all": 10, "selected": 4}}
    target = out("output.coffea")
    target.dump(acc, formatter="coffea")
    assert target.load(formatter="coffea") == acc
    # a tiny NanoAOD-like file: one event collection "Muon" with a counter branch
    nano = out("nano.root")
    ak = need("awkward")
    with uproot.recreate(nano.path) as f:
        # uproot writes a jagged field as a counter (nMuon) and its branch (Muon_pt), as NanoAOD
        f["Events"] = {"Muon": ak.zip({"pt": ak.Array([[10.0], [20.0, 30.0]])}),
                       "run": np.array([1, 1], dtype=np.uint32),
                       "luminosityBlock": np.array([7, 7], dtype=np.uint32),
                       "event": np.array([100, 101], dtype=np.uint64)}
    events = nano.load(formatter="coffea", mode="eager").events()  # the factory, as in law
    assert len(events) == 2
    assert events.Muon.pt.tolist() == [[10.0], [20.0, 30.0]]


# -- h5py -------------------------------------------------------------------------------------


def test_h5py_dump_of_datasets_and_of_an_open_file(out, tmp_path):
    h5py = need("h5py")
    a = out("a.h5")
    a.dump({"x": np.arange(5), "y": np.ones(3)}, formatter="h5py")
    with a.load(formatter="h5py") as f:
        assert f["x"][:].tolist() == [0, 1, 2, 3, 4] and f["y"].shape == (3,)
    b = out("b.hdf5")
    f = b.dump(formatter="h5py")
    f.create_dataset("z", data=np.array([7, 8]))
    assert not b.exists()
    f.close()
    with h5py.File(b.path, "r") as g:
        assert g["z"][:].tolist() == [7, 8]
    assert hidden_files(tmp_path) == []


# -- pyarrow ----------------------------------------------------------------------------------


def test_parquet_formatters_give_a_parquet_file_and_a_table(out):
    pa = need("pyarrow")
    table = pa.table({"a": [1, 2, 3]})
    target = out("t.parquet")
    target.dump(table, formatter="parquet_table")
    assert target.load(formatter="parquet_table").equals(table)
    pf = target.load(formatter="parquet")
    assert pf.metadata.num_rows == 3


# -- formatter="auto" as in law ---------------------------------------------------------------


def test_auto_picks_the_formatter_of_the_first_loaded_package_as_law_does(monkeypatch, out):
    monkeypatch.setattr(fmt, "_active_contribs", [])
    assert fmt.find_formatter("x.parquet", "dump").name == "pandas"  # nothing loaded: built-in
    fmt.activate_contrib("awkward")
    fmt.activate_contrib("pandas")
    assert fmt.find_formatter("x.parquet", "dump").name == "awkward"  # loaded first wins
    assert fmt.find_formatter("x.json", "dump").name == "json"  # core formatters come first
    fmt.activate_contrib("hdf5")
    assert fmt.find_formatter("x.h5", "load").name == "pandas"  # pandas was loaded before hdf5
    monkeypatch.setattr(fmt, "_active_contribs", ["hdf5", "pandas"])
    assert fmt.find_formatter("x.h5", "load").name == "h5py"


def test_a_formatter_name_works_without_loading_its_package():
    assert fmt.get_formatter("tf_graph").__name__ == "TFGraphFormatter"
    assert fmt.get_formatter("uproot").contrib == "root"
