"""Temporary sibling names: what they say about their writer, and when that writer is gone."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from pipekit.target.tmpnames import (
    FOREIGN_MAX_AGE,
    HOST,
    StaleSweep,
    parse_tmp_name,
    tmp_name,
    writer_gone,
)


def test_a_temporary_name_is_hidden_keeps_extensions_and_names_host_and_process():
    name = tmp_name("hist.tar.gz")
    assert name.startswith(".hist.pktmp-") and name.endswith(".tar.gz")
    info = parse_tmp_name(name)
    assert (info.basename, info.host, info.pid) == ("hist.tar.gz", HOST, os.getpid())
    assert parse_tmp_name(".a.pktmp-4242-0123abcd.json").host is None  # named the wave-1 way
    assert parse_tmp_name(".hidden.json") is None and parse_tmp_name("a.pktmp.json") is None


def test_the_writer_is_gone_when_its_process_ended_or_its_pid_belongs_to_a_younger_process():
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    now = time.time()
    assert writer_gone(parse_tmp_name(f".a.pktmp-{HOST}-{dead.stdout.strip()}-0123abcd"), now)
    alive = os.getppid()
    assert not writer_gone(parse_tmp_name(f".a.pktmp-{HOST}-{alive}-0123abcd"), now)
    # written before the process that now has the pid started: that process is not the writer
    assert writer_gone(parse_tmp_name(f".a.pktmp-{HOST}-{alive}-0123abcd"), 1.0e9)
    assert not writer_gone(parse_tmp_name(tmp_name("a")), 1.0e9)  # this process: in progress


def test_temporaries_of_other_machines_count_as_abandoned_only_after_a_day():
    other = parse_tmp_name(".a.pktmp-ffffff-1-0123abcd.json")
    assert other.host != HOST
    now = time.time()
    assert not writer_gone(other, now - 3600, now)
    assert writer_gone(other, now - FOREIGN_MAX_AGE - 1, now)
    assert not writer_gone(other, None, now)


def test_a_directory_is_swept_once_per_process_and_failed_removals_are_retried(tmp_path):
    removed = []
    fail = {"on": True}
    listings = []

    def remove(path):
        if fail["on"] and path.endswith("orphan"):
            raise OSError("server down")
        removed.append(path)

    def names(directory):
        listings.append(directory)
        return [".x.pktmp-ffffff-1-0123abcd.json", "x.json"]

    sweep = StaleSweep(names, lambda p: 0.0, remove)
    assert sweep.sweep("/d") == ["/d/.x.pktmp-ffffff-1-0123abcd.json"]
    assert sweep.sweep("/d") == [] and listings == ["/d"]  # listed once
    sweep.orphaned("/d/orphan")
    assert sweep.sweep("/d") == []  # still unreachable: kept for later
    fail["on"] = False
    assert sweep.sweep("/e") == ["/d/orphan", "/e/.x.pktmp-ffffff-1-0123abcd.json"]
