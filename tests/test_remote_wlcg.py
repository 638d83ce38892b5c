"""
law's wlcg package (pipekit/contrib/wlcg.py): WLCGFileSystem and targets configured from law.cfg.

The storage is fsspec's local file system (``file://`` base, ``file_interface: fsspec``), so the
configuration path runs end to end without a server; the same targets against XRootD, WebDAV and
S3 are tested in tests/integration/.
"""

from __future__ import annotations

import textwrap

import pytest

import pipekit as law
from pipekit.errors import ConfigError
from pipekit.target.collection import TargetCollection

pytest.importorskip("fsspec")


@pytest.fixture
def store(home, tmp_path):
    store = tmp_path / "store"
    store.mkdir()
    (home.parent / "work" / "law.cfg").write_text(
        textwrap.dedent(f"""
        [wlcg_fs]
        base: file://{store}
        file_interface: fsspec
        retries: 0

        [wlcg_fs_other]
        base: file://{store}/other
    """).lstrip()
    )
    return store


def test_contrib_load_gives_the_law_names(store):
    law.contrib.load("wlcg")
    assert law.wlcg.WLCGFileTarget.__name__ == "WLCGFileTarget"
    assert {"WLCGFileSystem", "WLCGTarget", "WLCGFileTarget", "WLCGDirectoryTarget"} <= set(
        law.wlcg.__all__
    )


def test_targets_use_the_default_section_and_write_there(store):
    from pipekit.wlcg import WLCGDirectoryTarget, WLCGFileTarget

    t = WLCGFileTarget("/plots/a.json")
    t.dump({"a": 1})
    assert (store / "plots" / "a.json").read_text() == '{"a": 1}'
    assert t.uri() == f"file://{store}/plots/a.json"
    assert isinstance(t.parent, WLCGDirectoryTarget) and t.parent.listdir() == ["a.json"]


def test_a_named_section_is_a_file_system_of_its_own(store):
    from pipekit.wlcg import WLCGFileSystem, WLCGFileTarget

    t = WLCGFileTarget("/x.json", fs="wlcg_fs_other")
    t.dump([1])
    assert (store / "other" / "x.json").exists()
    assert t.fs is WLCGFileSystem.from_section("wlcg_fs_other")  # one instance per section
    assert t.fs.file_interface.retries == 0  # inherited from [wlcg_fs]
    assert t.fs != WLCGFileTarget("/x.json").fs


def test_targets_of_one_section_are_checked_together(store):
    from pipekit.wlcg import WLCGFileTarget

    targets = [WLCGFileTarget(f"/outs/{i}.json") for i in range(10)]
    targets[3].touch()
    coll = TargetCollection(targets)
    assert coll.count() == 1
    assert targets[0].fs.op_counts["listdir"] == 1


def test_default_instance_follows_the_target_section_option(store, home):
    from pipekit.wlcg import WLCGFileSystem

    from pipekit.config import Config

    assert WLCGFileSystem.default_instance.config_section == "wlcg_fs"
    with open(home.parent / "work" / "law.cfg", "a") as f:
        f.write("\n[target]\ndefault_wlcg_fs: wlcg_fs_other\n")
    Config.reset()
    assert WLCGFileSystem.default_instance.config_section == "wlcg_fs_other"


def test_without_configuration_the_error_says_what_to_add(home):
    from pipekit.wlcg import WLCGFileSystem, WLCGFileTarget

    assert WLCGFileSystem.default_instance is None
    with pytest.raises(ConfigError, match=r"\[wlcg_fs\].*'base'"):
        WLCGFileTarget("/a.json")
