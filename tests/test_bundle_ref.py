"""BundleRef: survives the job spec (JSON) and maps only paths really below the bundled directory."""

from __future__ import annotations

import json

from pipekit.bundle.ref import BundleRef


def test_a_ref_survives_json_and_ignores_fields_it_does_not_know():
    ref = BundleRef("ana", "abc", "ana.abc.tgz", uri="root://h//b/ana.abc.tgz",
                    fs_class="pipekit.contrib.wlcg.WLCGFileSystem", fs_path="/b/ana.abc.tgz",
                    python_path=["python"], env={"X": "{dir}"})
    data = json.loads(json.dumps({**ref.to_dict(), "from_a_newer_version": 1}))
    assert BundleRef.from_dict(data) == ref
    assert ref.key == "ana.abc" and ref.where == "root://h//b/ana.abc.tgz"


def test_only_paths_below_the_source_directory_are_mapped():
    ref = BundleRef("ana", "abc", "ana.abc.tgz", source_dir="/home/u/ana")
    assert ref.map_path("/home/u/ana", "/cache/ana.abc") == "/cache/ana.abc"
    assert ref.map_path("/home/u/ana/python/law.cfg", "/c") == "/c/python/law.cfg"
    assert ref.map_path("/home/u/ana2/x", "/c") is None  # a sibling sharing the prefix
    assert ref.map_path("/home/u", "/c") is None
