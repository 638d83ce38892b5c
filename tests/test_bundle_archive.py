"""
Bundle archives: files relative to the bundled directory, links kept as links, content
rewritten where asked, and unpacking that refuses paths escaping the target directory.
"""

from __future__ import annotations

import io
import os
import subprocess
import tarfile

import pytest

from pipekit.bundle.archive import extract_archive, git_blob_id, write_archive
from pipekit.errors import PipekitError


def test_written_archive_unpacks_to_the_same_tree_with_links_and_modes(tmp_path):
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "sub" / "a.txt").write_text("a")
    (src / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "run.sh", 0o755)
    os.symlink("/usr/bin/env", src / "abs-link")  # a venv's bin/python is such a link
    os.symlink("sub/a.txt", src / "rel-link")
    archive = tmp_path / "b.tgz"
    n = write_archive(str(archive), str(src), ["sub/a.txt", "run.sh", "abs-link", "rel-link"],
                      rewrite=lambda rel, data: b"A" if rel == "sub/a.txt" else None)
    assert n == 4
    dest = tmp_path / "dest"
    assert extract_archive(str(archive), str(dest)) == 4
    assert (dest / "sub" / "a.txt").read_text() == "A"
    assert os.access(dest / "run.sh", os.X_OK)
    assert os.readlink(dest / "abs-link") == "/usr/bin/env"
    assert (dest / "rel-link").read_text() == "A"


def evil_archive(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, kind, target in members:
            info = tarfile.TarInfo(name)
            if kind == "sym":
                info.type, info.linkname = tarfile.SYMTYPE, target
                tar.addfile(info)
            else:
                info.size = 1
                tar.addfile(info, io.BytesIO(b"x"))


@pytest.mark.parametrize("members, what", [
    ([("../outside", "file", "")], "unsafe path '../outside'"),
    ([("/etc/evil", "file", "")], "unsafe path '/etc/evil'"),
    ([("link", "sym", "/etc"), ("link/passwd", "file", "")], "lies below the link 'link'"),
])
def test_unpacking_refuses_members_that_escape_the_directory(tmp_path, members, what):
    archive = tmp_path / "evil.tgz"
    evil_archive(archive, members)
    with pytest.raises(PipekitError, match=what):
        extract_archive(str(archive), str(tmp_path / "dest"))
    assert not (tmp_path / "outside").exists()


def test_a_truncated_archive_is_an_error_naming_it(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "big").write_bytes(os.urandom(200_000))
    archive = tmp_path / "b.tgz"
    write_archive(str(archive), str(src), ["big"])
    archive.write_bytes(archive.read_bytes()[:50_000])
    with pytest.raises(PipekitError, match=r"cannot unpack the bundle archive .*b\.tgz"):
        extract_archive(str(archive), str(tmp_path / "dest"))


def test_blob_ids_are_the_ones_git_computes(tmp_path):
    f = tmp_path / "f.py"
    f.write_text("print('hi')\n")
    expected = subprocess.run(["git", "hash-object", str(f)], capture_output=True, text=True,
                              check=True).stdout.strip()
    assert git_blob_id(str(f)) == ("100644", expected)
