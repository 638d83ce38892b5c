"""
Mirrored targets on XRootD with the server's data directory as the local mount: reads through
the mount cost no request to the server, writes go through XRootD and show up in the mount.
"""

from __future__ import annotations

import pytest
from storage_helpers import backend_missing, make_fs

from pipekit.target.collection import TargetCollection
from pipekit.target.local import LocalFileSystem
from pipekit.target.mirrored import MirroredDirectoryTarget
from pipekit.target.remote.base import RemoteDirectoryTarget

pytestmark = [pytest.mark.storage, pytest.mark.timeout(60)]


def test_mirrored_targets_read_the_mount_and_write_through_xrootd(require_service):
    reason = backend_missing("xrootd")
    require_service("xrootd", reason is None, reason or "")
    remote = make_fs("xrootd")
    mount = LocalFileSystem(base=str(remote.data), name="xrd_mount")
    try:
        d = MirroredDirectoryTarget("outs", remote_fs=remote, local_fs=mount)
        targets = [d.child(f"{i}.json", type="f") for i in range(6)]
        for t in targets[:4]:
            t.dump({"i": 1})  # through XRootD; returns once the mount shows the file
        assert remote.op_counts["upload"] == 4
        assert sorted(p.name for p in (remote.data / "outs").iterdir()) == [
            f"{i}.json" for i in range(4)
        ]
        before = sum(remote.op_counts.values())
        assert TargetCollection(targets).count() == 4
        assert targets[0].load() == {"i": 1}
        assert sum(remote.op_counts.values()) == before  # answered by the mount
    finally:
        RemoteDirectoryTarget("/", fs=remote).remove()
