"""
Run law's own example analyses (``examples/`` of law's repository) under law 0.1.21 and under
pipekit, and compare exit codes and output files.

    python bench/law_examples.py --law-repo /work/.mirror/riga+law/repo [--only workflows,...]

Three ways per example, each in a fresh copy of it under ``bench/work/law-examples/``:

- ``law``: unmodified, with law 0.1.21 (``bench/.venv-law``, created as by bench/run.py);
- ``ported``: ``import law`` replaced by ``import pipekit as law``, with the project's ``.venv``;
- ``alias``: unmodified, with pipekit and the opt-in alias (``bench/.venv-alias``: pipekit and
  ``./alias`` installed).

Nothing of law is kept in this repository: the examples are read from a git directory of law's
repository at run time (``fetch github:riga/law``). Batch examples run with
``--workflow local`` (and, under pipekit, ``--dry-run`` of their batch workflow type). The result
table is printed and written as JSON to ``bench/work/law-examples/results.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["EXAMPLES", "main"]

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / "work" / "law-examples"
VENVS = {"law": HERE / ".venv-law", "ported": ROOT / ".venv", "alias": HERE / ".venv-alias"}
EXTRA = ["scikit-optimize", "matplotlib", "ipykernel", "nbclient", "nbformat"]

#: example -> list of (command, pipekit_only); commands run in order in the example's directory
EXAMPLES: dict[str, list[tuple[str, bool]]] = {
    "loremipsum": [("law index --verbose", False),
                   ("law run ShowFrequencies --print-status -1", False),
                   ("law run ShowFrequencies", False)],
    "workflows": [("law index --verbose", False),
                  ("law run CreateAlphabet --print-status -1", False),
                  ("law run CreateAlphabet", False),
                  ("law run CreateAlphabet --print-status 1", False),
                  ("law run CreateAlphabet --remove-output=-1,a", False)],
    # its README names a MyWorkflow that tasks.py does not define: the commands are for the tasks
    "workflow_parameters": [("law index --verbose", False),
                            ("law run CreateChars --branch 0", False),
                            ("law run CreateChars --num 98 --upper-case", False),
                            ("law run CreateAlphabet --print-status 1", False),
                            ("law run CreateAlphabet", False),
                            ("law run CreateAlphabet --upper-case", False)],
    "parallel_optimization": [("law index --verbose", False),
                              ("law run OptimizerPlot --print-status -1", False),
                              ("law run OptimizerPlot --iterations 3 --n-initial-points 3 "
                               "--n-parallel 2", False),
                              ("law run OptimizerPlot --print-status -1", False)],
    "notifications": [("law index --verbose", False), ("law run MyTask --notify-slack", False)],
    "sequential_htcondor_at_cern": [
        ("law index --verbose", False),
        ("law run CreatePartialAlphabet --version v1 --branch 0 --print-status -1", False),
        ("law run CreateFullAlphabet --version v1 --print-status 1", False),
        ("law run CreateFullAlphabet --version v1 --CreatePartialAlphabet-workflow local", False),
        ("law run CreateChars --version v2 --workflow htcondor --dry-run", True)],
}
for _name, _wf in (("htcondor_at_cern", "htcondor"), ("htcondor_at_naf", "htcondor"),
                   ("htcondor_at_vispa", "htcondor"), ("slurm_at_maxwell", "slurm"),
                   ("lsf_at_cern", "lsf")):
    EXAMPLES[_name] = [
        ("law index --verbose", False),
        ("law run CreateAlphabet --version v1 --print-status -1", False),
        ("law run CreateAlphabet --version v1 --CreateChars-workflow local", False),
        ("law run CreateAlphabet --version v1 --print-status -1", False),
        (f"law run CreateChars --version v2 --workflow {_wf} --dry-run", True),
        ("law run CreateAlphabet --version v1 --remove-output=-1,a", False)]
EXAMPLES["notebooks"] = [("notebook example.ipynb", False)]

IMPORT_LAW = re.compile(r"^(\s*)import law\s*$", re.M)


def ensure_venvs() -> None:
    sys.path.insert(0, str(HERE))
    from harness import LAW_REQUIREMENTS, ensure_law_venv

    ensure_law_venv(VENVS["law"], LAW_REQUIREMENTS + EXTRA)
    alias = VENVS["alias"]
    if not (alias / ".installed").exists():
        subprocess.run([sys.executable, "-m", "venv", str(alias)], check=True)
        pip = [str(alias / "bin" / "python"), "-m", "pip", "install", "-q"]
        subprocess.run(pip + ["-e", str(ROOT), str(ROOT / "alias"), *EXTRA], check=True)
        (alias / ".installed").write_text("")
    subprocess.run([str(VENVS["ported"] / "bin" / "python"), "-m", "pip", "install", "-q",
                    *EXTRA], check=True)


def extract(repo: str, dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "--git-dir", repo, "archive", "HEAD", "examples"],
                             check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)


def port(directory: Path) -> None:
    """Replace ``import law`` by ``import pipekit as law`` in every .py file and notebook cell."""
    for path in directory.rglob("*"):
        if path.suffix == ".py":
            path.write_text(IMPORT_LAW.sub(r"\1import pipekit as law", path.read_text()))
        elif path.suffix == ".ipynb":
            nb = json.loads(path.read_text())
            for cell in nb["cells"]:
                cell["source"] = [IMPORT_LAW.sub(r"\1import pipekit as law", line.rstrip("\n")) +
                                  ("\n" if line.endswith("\n") else "") for line in cell["source"]]
            path.write_text(json.dumps(nb))


def env_for(impl: str, directory: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAW_", "PIPEKIT_"))}
    venv = VENVS[impl]
    data = directory / "data"
    env.update(PATH=f"{venv / 'bin'}:{env.get('PATH', '')}", PYTHONPATH=str(directory),
               LAW_HOME=str(directory / ".law"), LAW_CONFIG_FILE=str(directory / "law.cfg"),
               ANALYSIS_PATH=str(directory), ANALYSIS_DATA_PATH=str(data), DATA_PATH=str(data),
               WORKFLOWEXAMPLE_DATA_PATH=str(data), VIRTUAL_ENV=str(venv),
               MPLBACKEND="Agg", HOME=str(directory.parent / "home"))
    (directory.parent / "home").mkdir(exist_ok=True)
    if not (directory / "law.cfg").exists():
        env["LAW_CONFIG_FILE"] = "/dev/null"
    return env


def run_notebook(impl: str, directory: Path, name: str, env: dict[str, str]) -> tuple[int, str]:
    kernels = directory.parent / "kernels" / impl
    spec = kernels / "kernels" / "example"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [str(VENVS[impl] / "bin" / "python"), "-m", "ipykernel_launcher", "-f",
                 "{connection_file}"], "display_name": impl, "language": "python"}))
    code = ("import nbformat, nbclient, sys\n"
            f"nb = nbformat.read({name!r}, as_version=4)\n"
            "client = nbclient.NotebookClient(nb, kernel_name='example', timeout=300)\n"
            "try:\n    client.execute()\nexcept Exception as e:\n"
            "    print('CELL FAILED:', str(e).strip().splitlines()[-1]); sys.exit(1)\n"
            "outs = [o.get('text', '') for c in nb.cells for o in c.get('outputs', []) if 'text' in o]\n"
            "print(''.join(outs)[-2000:])\n")
    env = dict(env, JUPYTER_PATH=str(kernels))
    proc = subprocess.run([str(VENVS["ported"] / "bin" / "python"), "-c", code], cwd=directory,
                          env=env, capture_output=True, text=True, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def outputs_of(directory: Path) -> dict[str, str]:
    """Relative path -> content hash of every file the run wrote (below data/ and similar)."""
    result = {}
    for path in sorted(directory.rglob("*")):
        rel = path.relative_to(directory)
        if not path.is_file() or rel.parts[0] in (".law", "tmp") or "__pycache__" in rel.parts:
            continue
        if rel.parts[0] not in ("data", "store") and not rel.parts[0].startswith("data"):
            continue
        # job files of dry runs and ledgers are implementation specific: listed, not compared
        if any(p.startswith(("pipekit_", "law_", ".")) for p in rel.parts):
            continue
        result[str(rel)] = hashlib.sha1(path.read_bytes()).hexdigest()[:10]
    return result


def run_example(name: str, impl: str, source: Path) -> dict:
    directory = WORK / impl / name
    if directory.exists():
        shutil.rmtree(directory)
    shutil.copytree(source / "examples" / name, directory)
    if impl == "ported":
        port(directory)
    env = env_for(impl, directory)
    steps = []
    for cmd, pipekit_only in EXAMPLES[name]:
        if pipekit_only and impl == "law":
            steps.append({"cmd": cmd, "code": None, "tail": ["(law has no --dry-run)"],
                          "outputs": steps[-1]["outputs"] if steps else {}})
            continue
        if cmd.startswith("notebook "):
            code, out = run_notebook(impl, directory, cmd.split()[1], env)
        else:
            proc = subprocess.run(cmd, shell=True, cwd=directory, env=env, capture_output=True,
                                  text=True, timeout=900, stdin=subprocess.DEVNULL)
            code, out = proc.returncode, proc.stdout + proc.stderr
        steps.append({"cmd": cmd, "code": code, "tail": out.strip().splitlines()[-3:],
                      "outputs": outputs_of(directory)})
    return {"steps": steps, "outputs": [s.get("outputs") for s in steps]}


def comparable(row: dict, name: str, impl: str) -> list:
    """The outputs after each step of *impl*, without pipekit-only steps (dry runs)."""
    return [s["outputs"] for s, (_, only) in zip(row[impl]["steps"], EXAMPLES[name]) if not only]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--law-repo", required=True, help="git directory of law's repository")
    parser.add_argument("--only", default="", help="comma-separated example names")
    parser.add_argument("--impls", default="law,ported,alias")
    args = parser.parse_args(argv)
    ensure_venvs()
    source = WORK / "source"
    if source.exists():
        shutil.rmtree(source)
    extract(args.law_repo, source)
    names = [n for n in args.only.split(",") if n] or list(EXAMPLES)
    impls = args.impls.split(",")
    results: dict = {}
    for name in names:
        results[name] = {impl: run_example(name, impl, source) for impl in impls}
        row = results[name]
        codes = {impl: [s["code"] for s in row[impl]["steps"]] for impl in impls}
        same_out = {impl: comparable(row, name, impl) == comparable(row, name, impls[0])
                    for impl in impls[1:]}
        print(f"{name:<28} " + "  ".join(f"{i}={codes[i]}" for i in impls)
              + "  outputs same: " + ", ".join(f"{i}={v}" for i, v in same_out.items()))
    (WORK / "results.json").write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
