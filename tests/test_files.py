"""pipekit.files: law.util's helpers for local files."""

from __future__ import annotations

import os
import stat

import pytest

from pipekit import files as f


def test_tmp_file_exists_in_the_block_and_is_removed_after(tmp_path):
    with f.tmp_file(dir=tmp_path, suffix=".txt") as (fd, path):
        assert os.path.isfile(path) and path.endswith(".txt")
    assert not os.path.exists(path)


def test_makedirs_gives_new_directories_the_exact_permission(tmp_path):
    target = tmp_path / "a" / "b"
    f.makedirs(target, perm=0o770)
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o770
    f.makedirs(target)  # existing: fine


def test_copy_no_perm_keeps_content_and_time_but_not_permissions(tmp_path):
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.write_text("data")
    os.chmod(src, 0o700)
    os.utime(src, (1_000_000, 1_000_000))
    f.copy_no_perm(src, dst)
    assert dst.read_text() == "data" and os.stat(dst).st_mtime == 1_000_000
    assert stat.S_IMODE(os.stat(dst).st_mode) != 0o700


def test_increment_path_finds_the_next_free_numbered_name(tmp_path):
    base = tmp_path / "plot.pdf"
    assert f.increment_path(base) == str(base)
    base.write_text("")
    (tmp_path / "plot_1.pdf").write_text("")
    assert f.increment_path(base) == str(tmp_path / "plot_2.pdf")
    assert f.increment_path(tmp_path / "plot_3.pdf", n=2) == str(tmp_path / "plot_5.pdf")


def test_import_file_runs_a_python_file_and_returns_its_names(tmp_path):
    script = tmp_path / "settings.py"
    script.write_text("lumi = 59.7\nchannels = ['ee', 'mumu']\n")
    names = f.import_file(script)
    assert names.lumi == 59.7 and f.import_file(script, "channels") == ["ee", "mumu"]
    with pytest.raises(AttributeError, match="defines no name 'era'"):
        f.import_file(script, "era")


def test_ownership_and_exists_errors(tmp_path):
    assert f.user_owns_file(tmp_path)
    try:
        os.mkdir(tmp_path)
    except OSError as e:
        assert f.is_file_exists_error(e)
