"""
The opt-in ``law`` alias (``pip install ./alias``): installed for real with pip into a
temporary site directory, then used by fresh interpreters.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def pip(*args: str) -> None:
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module")
def alias_site(tmp_path_factory):
    site = tmp_path_factory.mktemp("alias-site")
    pip("--no-deps", "--no-index", "--no-build-isolation", "--target", str(site), str(ROOT / "alias"))
    assert (site / "pipekit-law-alias.pth").is_file()
    return site


def python(code: str, site: Path, *path_first: Path, cwd: Path | None = None) -> str:
    # site.addsitedir processes the .pth file as the interpreter does for site-packages
    prelude = "import sys, site\n" + "".join(f"sys.path.insert(0, {str(p)!r})\n" for p in path_first)
    prelude += f"site.addsitedir({str(site)!r})\n"
    proc = subprocess.run([sys.executable, "-c", prelude + code], capture_output=True,
                          text=True, timeout=120, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_import_law_gives_pipekit_and_law_modules_are_pipekits_modules(alias_site):
    out = python(
        "import law, law.util, law.task.base, pipekit, pipekit.util\n"
        "from law.contrib.htcondor import HTCondorWorkflow\n"
        "law.contrib.load('slurm')\n"
        "import law.slurm\n"
        "print(law is pipekit, law.util is pipekit.util, law.task.base.Task is pipekit.Task,\n"
        "      sys.modules['law.util'] is pipekit.util, law.slurm.__name__, HTCondorWorkflow.__module__)\n",
        alias_site)
    assert out == "True True True True pipekit.contrib.slurm pipekit.batch.htcondor"


def test_an_unmodified_law_analysis_runs(alias_site, tmp_path):
    (tmp_path / "ana.py").write_text(
        "import luigi\nimport law\n\n"
        "class Hello(law.Task):\n"
        "    who = luigi.Parameter(default='world')\n\n"
        "    def output(self):\n        return law.LocalFileTarget('hello.txt')\n\n"
        "    def run(self):\n        self.output().dump('hello ' + self.who, formatter='text')\n")
    out = python("import ana\nprint(ana.Hello(who='law').law_run())", alias_site, tmp_path, cwd=tmp_path)
    assert out.splitlines()[-1] == "True"
    assert (tmp_path / "hello.txt").read_text() == "hello law"


def test_a_real_law_installation_is_never_shadowed(alias_site, tmp_path):
    real = tmp_path / "real-law"
    pip("--no-deps", "--target", str(real), "law==0.1.21")
    out = python("import law\nprint(law.__file__, law.__version__)", alias_site, real)
    assert out == f"{real / 'law' / '__init__.py'} 0.1.21"


def test_without_the_alias_import_law_fails_as_before(tmp_path):
    proc = subprocess.run([sys.executable, "-c", "import law"], capture_output=True, text=True,
                          cwd=tmp_path, timeout=60)
    assert proc.returncode == 1 and "No module named 'law'" in proc.stderr
