"""
The node side of bundles (pipekit.bundle.node): a bundle is unpacked once per node however many
jobs start at once, reused by later jobs, found in the job's own directory when it was sent
along, old versions are removed only when unused, and a job's paths point into it.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys

import pytest
from concurrency_helpers import in_forked_children

from pipekit.bundle.archive import write_archive
from pipekit.bundle.node import BundleCache, activate, map_into_bundles, stage_in
from pipekit.bundle.ref import BundleRef
from pipekit.errors import PipekitError


def make_bundle(tmp_path, checksum="c0ffee", n_files=200, name="ana") -> BundleRef:
    src = tmp_path / f"src_{checksum}"
    (src / "pkg").mkdir(parents=True)
    (src / "pkg" / "__init__.py").write_text(f"CHECKSUM = {checksum!r}\n")
    for i in range(n_files):  # enough to make unpacking take a moment while others wait
        (src / "pkg" / f"m{i}.py").write_text("x = 1\n" * 200)
    (src / "bin").mkdir()
    (src / "bin" / "ana-tool").write_text("#!/bin/sh\necho tool from the bundle\n")
    os.chmod(src / "bin" / "ana-tool", 0o755)
    archive = tmp_path / f"{name}.{checksum}.tgz"
    files = [str(p.relative_to(src)) for p in src.rglob("*") if p.is_file()]
    write_archive(str(archive), str(src), files)
    return BundleRef(name=name, checksum=checksum, archive=archive.name,
                     local_archive=str(archive), source_dir=str(src), python_path=["."],
                     bin_path=["bin"], env={"ANA_DATA": "{dir}/data"})


def test_jobs_starting_at_once_unpack_a_bundle_once(tmp_path):
    ref = make_bundle(tmp_path)
    root = str(tmp_path / "cache")

    def job(i, barrier):
        barrier.wait()
        staged = BundleCache(root, say=lambda m: None).get(ref)
        return staged.how, staged.directory

    results = in_forked_children(6, job)
    hows = sorted(h for h, _ in results)
    assert hows.count("unpacked") == 1, hows
    assert set(hows) <= {"unpacked", "waited", "cached"}
    assert {d for _, d in results} == {os.path.join(root, ref.key)}
    assert sorted(os.listdir(root)) == [ref.key, f"{ref.key}.json", f"{ref.key}.lock"]
    assert len(list((tmp_path / "cache" / ref.key / "pkg").iterdir())) == 201


def test_a_later_job_uses_the_unpacked_bundle_without_reading_the_archive(tmp_path, capsys):
    ref = make_bundle(tmp_path, n_files=1)
    cache = BundleCache(str(tmp_path / "cache"))
    assert stage_in([ref.to_dict()], cache=cache)[0].how == "unpacked"
    os.remove(ref.local_archive)  # gone: the next job must not need it
    again = stage_in([ref.to_dict()], cache=cache)
    assert again[0].how == "cached"
    out = capsys.readouterr().out
    assert f"bundle {ref.key} unpacked from {ref.local_archive}" in out
    assert f"bundle {ref.key} already unpacked on this node" in out


def test_the_copy_sent_with_the_job_is_preferred_to_the_submit_side_path(tmp_path):
    ref = make_bundle(tmp_path, n_files=1)
    job_dir = tmp_path / "job"
    job_dir.mkdir()
    os.rename(ref.local_archive, job_dir / ref.archive)  # as HTCondor's file transfer puts it
    staged = BundleCache(str(tmp_path / "cache"), say=lambda m: None).get(ref, str(job_dir))
    assert staged.how == "unpacked" and os.path.isdir(os.path.join(staged.directory, "pkg"))


def test_a_missing_archive_is_one_clear_error(tmp_path):
    ref = make_bundle(tmp_path, n_files=1)
    os.remove(ref.local_archive)
    with pytest.raises(PipekitError, match=r"its archive is neither in the job directory nor at "):
        BundleCache(str(tmp_path / "cache")).get(ref)
    assert not (tmp_path / "cache" / ref.key).exists()


def test_a_job_killed_while_unpacking_leaves_nothing_that_looks_unpacked(tmp_path):
    ref = make_bundle(tmp_path, n_files=1)
    root = tmp_path / "cache"
    root.mkdir()
    (root / f"{ref.key}.tmp4242").mkdir()  # what a killed unpacker leaves
    (root / f"{ref.key}.tmp4242" / "half").write_text("")
    staged = BundleCache(str(root), say=lambda m: None).get(ref)
    assert staged.how == "unpacked"
    assert sorted(os.listdir(root)) == [ref.key, f"{ref.key}.json", f"{ref.key}.lock"]


def test_old_versions_are_removed_unless_a_running_job_uses_them(tmp_path):
    root = str(tmp_path / "cache")
    refs = [make_bundle(tmp_path, checksum=f"v{i}", n_files=1) for i in range(4)]

    def job_that_ended(ref):  # a job of its own process: its locks end with it
        in_forked_children(1, lambda i, b: BundleCache(root, keep=2, say=lambda m: None).get(ref).how)

    job_that_ended(refs[0])
    job_that_ended(refs[1])
    holder = open(os.path.join(root, f"{refs[1].key}.lock"))  # a job still running with v1
    fcntl.flock(holder, fcntl.LOCK_SH)
    job_that_ended(refs[2])
    job_that_ended(refs[3])
    dirs = sorted(p for p in os.listdir(root) if not p.endswith((".json", ".lock")))
    # kept: the newest two (v3, v2) and v1, which is in use; v0 is gone
    assert dirs == ["ana.v1", "ana.v2", "ana.v3"]
    holder.close()


def test_activate_puts_the_bundle_on_the_paths_and_maps_submit_side_paths(tmp_path, monkeypatch):
    ref = make_bundle(tmp_path, n_files=1)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setenv("PATH", os.environ["PATH"])
    monkeypatch.delenv("PYTHONPATH", raising=False)
    staged = stage_in([ref], cache=BundleCache(str(tmp_path / "cache"), say=lambda m: None))
    activate(staged)
    d = staged[0].directory
    assert sys.path[0] == d and os.environ["PYTHONPATH"] == d
    assert os.environ["PIPEKIT_BUNDLE_ANA"] == d and os.environ["ANA_DATA"] == f"{d}/data"
    tool = subprocess.run(["ana-tool"], capture_output=True, text=True, check=True)
    assert tool.stdout == "tool from the bundle\n"
    assert map_into_bundles(os.path.join(ref.source_dir, "pkg"), staged) == os.path.join(d, "pkg")
    assert map_into_bundles(str(tmp_path / "elsewhere"), staged) is None


def test_the_unpack_record_says_where_and_by_whom(tmp_path):
    ref = make_bundle(tmp_path, n_files=1)
    BundleCache(str(tmp_path / "cache"), say=lambda m: None).get(ref)
    info = json.loads((tmp_path / "cache" / f"{ref.key}.json").read_text())
    assert info["source"] == ref.local_archive and info["pid"] == os.getpid()
    assert info["files"] == 3  # pkg/__init__.py, pkg/m0.py, bin/ana-tool
