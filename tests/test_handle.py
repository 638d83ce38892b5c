"""PendingOutput: files a formatter opened for the caller appear at the target only when closed."""

from __future__ import annotations

import gc
import os

import pytest

import pipekit as law

h5py = pytest.importorskip("h5py")
np = pytest.importorskip("numpy")


def test_a_handle_never_closed_leaves_no_output_that_looks_complete(tmp_path):
    target = law.LocalFileTarget(str(tmp_path / "a.h5"))
    f = target.dump(formatter="h5py")
    f.create_dataset("x", data=np.arange(3))
    del f
    gc.collect()
    assert not target.exists()  # only the hidden temporary sibling, never the final name


def test_close_moves_the_file_into_place_and_a_second_close_is_harmless(tmp_path):
    target = law.LocalFileTarget(str(tmp_path / "b.h5"))
    f = target.dump(formatter="h5py")
    f["y"] = np.ones(2)  # item assignment reaches the file
    f.close()
    f.close()
    with h5py.File(target.path, "r") as g:
        assert g["y"][:].tolist() == [1.0, 1.0]
    assert [n for n in os.listdir(tmp_path) if n.startswith(".")] == []


def test_an_error_inside_the_block_discards_the_file_and_propagates(tmp_path):
    target = law.LocalFileTarget(str(tmp_path / "c.h5"))
    with pytest.raises(ValueError, match="bad data"):
        with target.dump(formatter="h5py") as f:
            f.create_dataset("z", data=[1])
            raise ValueError("bad data")
    assert os.listdir(tmp_path) == []
