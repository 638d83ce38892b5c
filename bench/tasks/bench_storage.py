"""
W5 task file, shared by law and pipekit: remote targets on the local XRootD server.

BENCH_IMPL=law imports law 0.1.21 (its gfal2-based WLCG targets), anything else ``pipekit as
law``. Both read ``[wlcg_fs] base`` from the law.cfg of the run. Usage::

    python bench_storage.py exists N DIR   # existence of N files in DIR: TargetCollection count
    python bench_storage.py copy N DIR SRC # upload N local files SRC/f<i>.txt to DIR, one by one

Prints one JSON line with the timings measured inside the process (after one warm-up request,
so that both pay for the gfal2 context and the connection outside the timed part).
"""

import json
import os
import sys
import time

if os.environ.get("BENCH_IMPL") == "law":
    import law
else:
    import pipekit as law

law.contrib.load("wlcg")


def targets(n, d):
    return [law.wlcg.WLCGFileTarget(f"/{d}/f{i}.txt") for i in range(n)]


def requests(ts):
    counts = getattr(ts[0].fs, "op_counts", None)  # pipekit counts the requests it sends
    return dict(counts) if counts is not None else {}


def exists(n, d):
    ts = targets(n, d)
    ts[0].parent.exists()  # warm-up: context and connection
    before = requests(ts)
    t0 = time.perf_counter()
    count = law.TargetCollection(ts).count()  # what a workflow's output collection does
    seconds = time.perf_counter() - t0
    spent = {k: v - before.get(k, 0) for k, v in requests(ts).items() if v != before.get(k, 0)}
    t0 = time.perf_counter()
    sibling = law.SiblingFileCollection(ts).count()  # law's one-listing collection, for reference
    sibling_seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "count": count,
        "requests": spent,
        "sibling_seconds": sibling_seconds,
        "sibling_count": sibling,
    }


def copy(n, d, src):
    ts = targets(n, d)
    ts[0].parent.touch()  # warm-up, and the directory exists for both
    t0 = time.perf_counter()
    for i, t in enumerate(ts):
        t.copy_from_local(os.path.join(src, f"f{i}.txt"))
    seconds = time.perf_counter() - t0
    ok = sum(1 for t in ts if t.exists())
    return {"seconds": seconds, "count": ok, "files_per_s": n / seconds}


if __name__ == "__main__":
    mode, n, d = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    result = exists(n, d) if mode == "exists" else copy(n, d, sys.argv[4])
    print("BENCH_RESULT " + json.dumps(result), flush=True)
