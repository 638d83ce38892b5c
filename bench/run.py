"""
``make bench``: run the benchmark workloads with law and with pipekit, alternating, in one run.

Usage: python bench/run.py [--only W1,W2] [--repeat N] [--skip-law] [--write-readme]

Prints a table (seconds per implementation, pipekit/law ratio, goal, pass/fail); with
``--write-readme`` the table and the machine description replace the results section of
``bench/README.md``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    BENCH_DIR,
    LAW_REQUIREMENTS,
    ROOT,
    Context,
    Measurement,
    Workload,
    ensure_law_venv,
    fresh_workdir,
    median,
)


def load_workloads() -> list[Workload]:
    workloads: list[Workload] = []
    for path in sorted((BENCH_DIR / "workloads").glob("*.py")):
        spec = importlib.util.spec_from_file_location(f"bench_workloads_{path.stem}", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        workloads.extend(getattr(module, "WORKLOADS", []))
    return sorted(workloads, key=lambda w: (len(w.name), w.name))


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(ln for ln in open("/proc/meminfo") if ln.startswith("MemTotal")).split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}){mem}, Python {platform.python_version()}"


def fmt_s(v: float) -> str:
    return "—" if v != v else (">timeout" if v == float("inf") else f"{v:.3f}")


def run(args: argparse.Namespace) -> int:
    workloads = load_workloads()
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        workloads = [w for w in workloads if w.name in wanted]
    runnable = []
    for w in workloads:
        reason = w.available() if w.available else None
        if reason:
            print(f"{w.name}: skipped ({reason})")
        else:
            runnable.append(w)
    law_venv = Path(args.law_venv)

    def impls_of(w: Workload) -> list[str]:
        wanted = ["pipekit"] if w.compare_with == "law" and args.skip_law else [w.compare_with, "pipekit"]
        wanted += list(w.extra_impls)
        return [i for i in wanted if w.impls is None or i in w.impls]

    if any("law" in impls_of(w) for w in runnable):
        reqs = list(LAW_REQUIREMENTS)
        for w in runnable:
            reqs += w.law_requirements
        print(f"law environment: {law_venv} ({', '.join(sorted(set(reqs)))})")
        ensure_law_venv(law_venv, reqs)
    ctx = Context(Path(args.work_dir), law_venv, ROOT / ".venv")
    results: dict[str, dict[str, list[Measurement]]] = {
        w.name: {i: [] for i in impls_of(w)} for w in runnable}
    for rep in range(args.repeat):
        for w in runnable:
            impls = impls_of(w)
            order = impls if rep % 2 == 0 else list(reversed(impls))
            for impl in order:
                if w.impls is not None and impl not in w.impls:
                    continue
                workdir = fresh_workdir(ctx, w, impl, rep)
                if w.prepare:
                    w.prepare(ctx, impl, workdir)
                if impl == "law" and w.law_timeout is not None:
                    os.environ["BENCH_LAW_TIMEOUT"] = str(w.law_timeout)
                m = w.run(ctx, impl, workdir)
                results[w.name][impl].append(m)
                extra = " ".join(f"{k}={v:g}" for k, v in m.counters.items())
                print(f"{w.name} {impl:<8} rep {rep + 1}: {fmt_s(m.seconds)} s, {m.maxrss_mb:.0f} MB "
                      f"{extra} {m.note}".rstrip(), flush=True)
    table = render(runnable, results)
    print()
    print(table)
    if args.write_readme:
        write_readme(table, args)
    failed = [w.name for w in runnable if not verdict(w, results[w.name], results)[0]]
    return 1 if failed and args.strict else 0


def baseline_seconds(w: Workload, results: dict) -> float | None:
    """The pipekit median of *w*'s baseline workload, when it ran."""
    base = results.get(w.baseline or "", {}).get("pipekit") or []
    return median([m.seconds for m in base]) if base else None


def verdict(w: Workload, res: dict[str, list[Measurement]], results: dict | None = None) -> tuple[bool, str]:
    pk = res.get("pipekit", [])
    if not pk:
        return True, ""
    pk_s = median([m.seconds for m in pk])
    notes = []
    ok = all(m.returncode == 0 for m in pk)
    if not ok:
        notes.append("pipekit run failed")
    base_s = baseline_seconds(w, results or {})
    if w.baseline_ratio is not None and base_s:
        ok &= pk_s / base_s <= w.baseline_ratio
        notes.append(f"≤ {w.baseline_ratio:g} × {w.baseline}")
    if w.target_ratio is not None and res.get(w.compare_with):
        law_s = median([m.seconds for m in res[w.compare_with]])
        ratio = pk_s / law_s if law_s not in (0, float("inf")) else 0.0
        good = ratio <= w.target_ratio
        ok &= good
        notes.append(f"ratio ≤ {w.target_ratio:g}")
    for key, limit in w.limits.items():
        value = pk_s if key == "seconds" else max(getattr(m, key, 0) or m.counters.get(key, 0) for m in pk)
        good = value <= limit
        ok &= good
        notes.append(f"{key} ≤ {limit:g}")
    return ok, ", ".join(notes)


def render(workloads: list[Workload], results: dict) -> str:
    head = ("| workload | law (or raw) [s] | pipekit [s] | ratio | pipekit peak RSS [MB] | "
            "counters (law or raw / pipekit) | goal | met |")
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for w in workloads:
        res = results[w.name]
        impls = [w.compare_with, "pipekit"]
        base = res.get(w.compare_with)
        law_s = median([m.seconds for m in base]) if base else float("nan")
        pk_s = median([m.seconds for m in res["pipekit"]])
        ratio = f"{pk_s / law_s:.3f}" if law_s == law_s and law_s not in (0, float("inf")) else "—"
        base_s = baseline_seconds(w, results)
        if base_s:
            ratio = f"{pk_s / base_s:.3f} × {w.baseline}"
        rss = max(m.maxrss_mb for m in res["pipekit"])
        keys = sorted({k for ms in res.values() for m in ms for k in m.counters})
        counters = "; ".join(
            f"{k}: {'/'.join(fmt_counter(res.get(i, []), k) for i in impls)}" for k in keys
        )
        for extra in w.extra_impls:
            ms = [m.seconds for m in res.get(extra, [])]
            if ms:
                counters += f"; {extra}_s: {median(ms):.3f}; pipekit_per_{extra}: {pk_s / median(ms):.3f}"
        ok, goal = verdict(w, res, results)
        lines.append(f"| {w.name} {w.title} | {fmt_s(law_s)} | {fmt_s(pk_s)} | {ratio} | {rss:.0f} | "
                     f"{counters or '—'} | {goal or '—'} | {'yes' if ok else 'NO'} |")
    return "\n".join(lines)


def fmt_counter(ms: list[Measurement], key: str) -> str:
    vals = [m.counters[key] for m in ms if key in m.counters]
    return f"{median(vals):g}" if vals else "—"


def write_readme(table: str, args: argparse.Namespace) -> None:
    readme = BENCH_DIR / "README.md"
    text = readme.read_text() if readme.exists() else ""
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    block = (f"{start}\nMeasured {date.today().isoformat()}. Machine: {machine()}. Repeats: {args.repeat} (median shown), law and pipekit "
             f"alternating.\n\n{table}\n{end}")
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n## Results\n\n" + block + "\n"
    readme.write_text(text)
    print(f"\nwrote the table to {readme}")


def main() -> int:
    p = argparse.ArgumentParser(description="pipekit vs law benchmarks")
    p.add_argument("--only", help="comma-separated workload names, e.g. W1,W3")
    p.add_argument("--repeat", type=int, default=1, help="repetitions per implementation (median shown)")
    p.add_argument("--skip-law", action="store_true", help="run pipekit only")
    p.add_argument("--write-readme", action="store_true", help="record the table in bench/README.md")
    p.add_argument("--strict", action="store_true", help="exit 1 when a goal is not met")
    p.add_argument("--law-venv", default=str(BENCH_DIR / ".venv-law"))
    p.add_argument("--work-dir", default=str(BENCH_DIR / "work"))
    return run(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())
