"""
What bundling costs for a real analysis repository (by default this one, with its 700 MB
``.venv`` ignored by git inside it): the checksum that decides whether a bundle is reused, packing
it, and a node unpacking it — once cold, with *N* jobs of one node starting together, and again
when it is cached. With ``--law``, law 0.1.21's ``BundleGitRepository`` (its venv made by the
harness in ``bench/.venv-law``) checksums and packs the same repository for comparison.

    .venv/bin/python bench/bundles.py [--repo PATH] [--jobs 8] [--repeat 3] [--law]

Work files go to a temporary directory, removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import time

__all__ = ["main"]

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))


def pipekit_figures(repo: str, work: str, jobs: int, repeat: int) -> dict[str, float]:
    import luigi
    from concurrency_helpers import in_forked_children

    from pipekit.bundle import BundleGitRepository
    from pipekit.bundle.node import BundleCache

    class Repo(BundleGitRepository):
        def get_repo_path(self):
            return repo

    def fresh() -> Repo:
        luigi.task_register.Register.clear_instance_cache()
        return Repo()

    os.environ["LAW_HOME"] = os.path.join(work, "home")
    checksum, pack, cold, crowd, cached = [], [], [], [], []
    for rep in range(repeat):
        t0 = time.perf_counter()
        task = fresh()
        _ = task.checksum
        checksum.append(time.perf_counter() - t0)
        if os.path.exists(task.output().abspath):
            os.remove(task.output().abspath)
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):  # its "bundled ..." line
            task.run()
        pack.append(time.perf_counter() - t0)
        ref = task.bundle_ref()
        t0 = time.perf_counter()
        BundleCache(os.path.join(work, f"cold{rep}"), say=lambda m: None).get(ref)
        cold.append(time.perf_counter() - t0)
        root = os.path.join(work, f"crowd{rep}")

        def job(i, barrier, root=root, ref=ref):
            barrier.wait()
            t = time.perf_counter()
            how = BundleCache(root, say=lambda m: None).get(ref).how
            return how, time.perf_counter() - t

        results = in_forked_children(jobs, job)
        assert sum(h == "unpacked" for h, _ in results) == 1, results
        crowd.append(max(t for _, t in results))
        later = in_forked_children(1, lambda i, b: job(i, type("B", (), {"wait": lambda s: 0})()))
        assert later[0][0] == "cached"
        cached.append(later[0][1])
    with tarfile.open(ref.local_archive) as tar:
        members = tar.getmembers()
    return {
        "files": len(members),
        "size_in": sum(m.size for m in members),
        "size_out": os.path.getsize(ref.local_archive),
        "checksum": statistics.median(checksum),
        "pack": statistics.median(pack),
        "unpack": statistics.median(cold),
        "crowd": statistics.median(crowd),
        "cached": statistics.median(cached),
    }


LAW_SCRIPT = '''
import os, sys, time
import law
law.contrib.load("git")

class Repo(law.git.BundleGitRepository):
    def get_repo_path(self):
        return {repo!r}

t0 = time.perf_counter()
r = Repo()
c = r.checksum
t1 = time.perf_counter()
r.bundle(os.path.join({work!r}, "law.tgz"))
t2 = time.perf_counter()
print(t1 - t0, t2 - t1, os.path.getsize(os.path.join({work!r}, "law.tgz")))
'''


def law_figures(repo: str, work: str, repeat: int) -> dict[str, float]:
    from harness import LAW_REQUIREMENTS, ensure_law_venv  # noqa: E402

    if os.path.isfile(os.path.join(repo, ".git")):
        # law's bundle script rsyncs the repository, .git included, and commits in the copy: a
        # worktree's .git is a file pointing at the real repository, so law would commit your
        # untracked files onto your branch (it did, once, while this bench was written)
        raise SystemExit(f"--law: {repo} is a git worktree (its .git is a file); law 0.1.21 would "
                         "commit into it. Run --law on a clone: git clone REPO /tmp/clone")

    venv = os.path.join(HERE, ".venv-law")
    ensure_law_venv(__import__("pathlib").Path(venv), list(LAW_REQUIREMENTS))
    script = os.path.join(work, "law_bundle.py")
    with open(script, "w") as f:
        f.write(textwrap.dedent(LAW_SCRIPT.format(repo=repo, work=work)))
    runs = []
    for _ in range(repeat):
        out = subprocess.run([os.path.join(venv, "bin", "python"), script], cwd=work, check=True,
                             capture_output=True, text=True).stdout.split()
        runs.append([float(x) for x in out])
    return {"checksum": statistics.median(r[0] for r in runs),
            "pack": statistics.median(r[1] for r in runs), "size_out": runs[-1][2]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repo", default=os.path.dirname(HERE), help="git repository to bundle")
    p.add_argument("--jobs", type=int, default=8, help="jobs of one node starting together")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--law", action="store_true", help="also run law 0.1.21's BundleGitRepository")
    args = p.parse_args(argv)
    sys.path.insert(0, HERE)
    work = tempfile.mkdtemp(prefix="pipekit-bench-bundles-")
    try:
        pk = pipekit_figures(os.path.abspath(args.repo), work, args.jobs, args.repeat)
        print(f"repository {args.repo}: {pk['files']} files, {pk['size_in'] / 1e6:.2f} MB -> "
              f"{pk['size_out'] / 1e6:.2f} MB bundle")
        print(f"pipekit  checksum {pk['checksum'] * 1e3:7.1f} ms   pack {pk['pack'] * 1e3:7.1f} ms   "
              f"unpack cold {pk['unpack'] * 1e3:6.1f} ms   {args.jobs} jobs at once "
              f"{pk['crowd'] * 1e3:6.1f} ms (one unpacks)   cached {pk['cached'] * 1e3:5.1f} ms")
        if args.law:
            lw = law_figures(os.path.abspath(args.repo), work, args.repeat)
            print(f"law      checksum {lw['checksum'] * 1e3:7.1f} ms   pack {lw['pack'] * 1e3:7.1f} ms   "
                  f"bundle {lw['size_out'] / 1e6:.2f} MB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
