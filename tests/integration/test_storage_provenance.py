"""
Provenance of outputs on remote storage, against the real servers of ``tests/infra`` (XRootD,
WebDAV through XrdHttp and wsgidav, S3 on moto): the record file sits next to the outputs on
the server, ``pipekit provenance URI`` prints a record (also for a URI no law.cfg section
covers), and ``--print-status`` / ``--rerun-outdated`` work the same as on local disk.
"""

from __future__ import annotations

import json
import shutil
import sys
import uuid
from pathlib import Path

import pytest
from storage_helpers import BACKENDS, S3_OPTIONS, backend_missing

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from cli_helpers import run_cli, write  # noqa: E402

pytestmark = [pytest.mark.storage, pytest.mark.timeout(240)]

TASKS = """
    import luigi
    import pipekit as law

    law.contrib.load("wlcg")


    class Events(law.LocalWorkflow):
        def create_branch_map(self):
            return {0: "a", 1: "b"}

        def output(self):
            return law.wlcg.WLCGFileTarget(f"/events/ev_{self.branch}.json")

        def run(self):
            self.output().dump({"events": self.branch_data * 3})


    class Hist(law.Task):
        def requires(self):
            return Events.req(self)

        def output(self):
            return law.wlcg.WLCGFileTarget("/hist.json")

        def run(self):
            coll = self.input()["collection"]
            self.output().dump({"n": sum(len(t.load()["events"]) for t in coll.iter_targets())})
"""


@pytest.fixture(params=sorted(BACKENDS))
def analysis(request, tmp_path, require_service):
    backend = request.param
    reason = backend_missing(backend)
    require_service(backend, reason is None, reason or "")
    sub = f"prov{uuid.uuid4().hex[:8]}"
    base = f"{BACKENDS[backend][1]}/{sub}"
    work = tmp_path / "work"
    write(work / "tasks.py", TASKS)
    extra = "".join(f"s3_{k}: {v}\n" for k, v in S3_OPTIONS.items()) if backend == "s3" else ""
    write(work / "law.cfg", "[core]\nprovenance: True\n[luigi_core]\nlocal_scheduler: True\n"
          f"[wlcg_fs]\nbase: {base}\nretries: 1\nretry_delay: 0.1\n{extra}")
    yield backend, work, base
    data = BACKENDS[backend][2]
    if data is not None:
        shutil.rmtree(data / sub, ignore_errors=True)
    else:
        from pipekit.target.remote.base import RemoteDirectoryTarget, RemoteFileSystem
        from pipekit.target.remote.fsspec import FSSpecFileInterface

        fi = FSSpecFileInterface(BACKENDS[backend][1], storage_options=S3_OPTIONS)
        RemoteDirectoryTarget(f"/{sub}", fs=RemoteFileSystem(fi)).remove()


def status(work) -> str:
    res = run_cli(["run", "tasks.Hist", "--print-status", "-1"], work, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


def test_remote_outputs_get_records_on_the_server_and_are_judged_like_local_ones(analysis):
    backend, work, base = analysis
    res = run_cli(["run", "tasks.Hist"], work, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr

    data_dir = BACKENDS[backend][2]
    if data_dir is not None:  # one record file per output directory, next to the outputs
        sub = base.rsplit("/", 1)[1]
        assert sorted(p.name for p in (data_dir / sub / "events").iterdir()) == [
            ".pipekit-provenance", "ev_0.json", "ev_1.json"]
    shown = run_cli(["provenance", f"{base}/hist.json"], work, timeout=60)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "status    current" in shown.stdout
    assert "task      Hist()  [tasks.Hist]" in shown.stdout
    assert f"  {base}/events/ev_0.json (" in shown.stdout  # inputs named by their URIs
    data = json.loads(run_cli(["provenance", "--json", f"{base}/events/ev_1.json"], work).stdout)
    assert data["task"]["branch"] == 1 and data["output"] == f"{base}/events/ev_1.json"
    assert data["output_state"]["size"] == len(json.dumps({"events": "bbb"}))

    out = status(work)
    assert "existent, current" in out
    assert "provenance: 0 outdated, 2 current, 0 unknown (of 2 present)" in out

    (work / "tasks.py").write_text((work / "tasks.py").read_text().replace("* 3", "* 4"))
    out = status(work)
    assert "outdated 0-1: code changed (Events)" in out
    assert "existent, outdated: input ev_0.json outdated; input ev_1.json outdated" in out
    res = run_cli(["run", "tasks.Hist", "--rerun-outdated"], work, timeout=120)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Events: running 2 of 2 branches" in res.stdout
    out = status(work)
    assert "existent, current" in out and "0 outdated, 2 current" in out


@pytest.mark.parametrize("analysis", [b for b in sorted(BACKENDS) if b != "s3"], indirect=True)
def test_a_uri_no_config_section_covers_is_found_on_its_server(analysis):
    # (S3 needs the credentials of a law.cfg section)
    backend, work, base = analysis
    assert run_cli(["run", "tasks.Events"], work, timeout=120).returncode == 0
    write(work / "law.cfg", "[core]\nprovenance: True\n")  # no [wlcg_fs] section any more
    shown = run_cli(["provenance", f"{base}/events/ev_0.json"], work, timeout=60)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert "task      Events(branch=0)  [tasks.Events]" in shown.stdout
