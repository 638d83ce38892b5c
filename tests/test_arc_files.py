"""
The files of an ARC submission (pipekit.batch.arc_files): one xRSL description per job with
the inputs ARC stages to the CE (job script, spec, bootstrap / stage-out and extra input files
such as an analysis bundle; URLs are left for the CE to fetch), the outputs arcget brings back,
resources from law.cfg and the job-config hook, and the job script. That the CE accepts them is
tested against the real A-REX in tests/integration/test_arc.py.
"""

from __future__ import annotations

import os
import subprocess
import textwrap

import pytest

from pipekit.batch.arc_files import ARCJobConfig, ARCJobFileFactory, xrsl_value
from pipekit.errors import UsageError
from pipekit.job.base import JobInputFile, SubmissionPlan


@pytest.fixture
def plan(tmp_path):
    return SubmissionPlan(tag="0123456789ab", directory=str(tmp_path / "sub"), job_nums=[4, 5],
                          job_name="pk_Chars_0123456789ab", cwd=str(tmp_path))


def write(path, text="echo\n"):
    path.write_text(text)
    return str(path)


def test_each_job_gets_its_own_xrsl_with_its_inputs_outputs_and_name(plan, tmp_path):
    factory = ARCJobFileFactory()
    config = ARCJobConfig(bootstrap_file=write(tmp_path / "boot.sh"))
    factory.create(plan, config)
    text = open(factory.xrsl_file(plan, 1)).read()
    d = plan.directory
    assert '(jobName="pk_Chars_0123456789ab_1")' in text and '(arguments="1")' in text
    assert (f'(inputFiles=("job.sh" "{d}/job.sh")("spec_1.json" "{d}/spec_1.json")'
            f'("boot.sh" "{d}/boot.sh"))') in text
    assert '(outputFiles=("status_1.json" ""))' in text and '(stdout="log_1.txt")' in text
    assert '(join="yes")' in text and text.startswith("(* pipekit: job index 1 of submission")
    script = open(os.path.join(d, "job.sh")).read()
    assert 'pk_dir="$PWD"' in script and 'source "$pk_dir"/boot.sh' in script
    assert ': > "$pk_status"' in script  # a declared output must exist, even after a crash
    subprocess.run(["bash", "-n", os.path.join(d, "job.sh")], check=True)


def test_resources_and_xrsl_lines_come_from_the_arc_section(plan, home, tmp_path):
    (home.parent / "work" / "law.cfg").write_text(textwrap.dedent("""\
        [arc]
        ce = https://ce1.example/arex, https://ce2.example/arex
        interface = emies
        queue = long
        walltime = 2h
        memory = 2000
        cpus = 4
        runtime_environments = ENV/SINGULARITY APPS/HEP/ROOT-6
        xrsl_lines:
            (rerun="2")
        arcsub_args = --timeout 60
        """))
    config = ARCJobFileFactory().new_config()
    assert config.computing_elements == ["https://ce1.example/arex", "https://ce2.example/arex"]
    assert config.interface == "emies" and config.extra_args == ["--timeout", "60"]
    text = ARCJobFileFactory().render_xrsl(plan, config, 0)
    for line in ('(wallTime="120")', '(memory="2000")', '(count="4")', '(queue="long")',
                 '(runTimeEnvironment="ENV/SINGULARITY")', '(runTimeEnvironment="APPS/HEP/ROOT-6")',
                 '(rerun="2")'):
        assert line in text
    assert ARCJobFileFactory().job_walltime(config) == 7200


def test_extra_input_files_travel_to_the_ce_urls_are_fetched_by_it(plan, tmp_path):
    """How an analysis bundle reaches ARC jobs: config.input_files (the list every factory's
    input_files()/resolve_inputs() handle), copied or used where it is, or fetched by the CE."""
    bundle = write(tmp_path / "bundle.tar.gz", "x")
    big = write(tmp_path / "big.tar", "y")
    config = ARCJobConfig(input_files=[bundle, JobInputFile(big, copy=False),
                                       "root://eos.example//store/sw/cmssw.tgz"])
    factory = ARCJobFileFactory()
    assert bundle in map(str, factory.input_files(config))
    factory.create(plan, config)
    text = open(factory.xrsl_file(plan, 0)).read()
    d = plan.directory
    assert f'("bundle.tar.gz" "{d}/bundle.tar.gz")' in text and os.path.exists(f"{d}/bundle.tar.gz")
    assert f'("big.tar" "{big}")' in text and not os.path.exists(f"{d}/big.tar")
    assert '("cmssw.tgz" "root://eos.example//store/sw/cmssw.tgz")' in text


def test_inputs_with_one_name_are_refused(plan, tmp_path):
    (tmp_path / "a").mkdir()
    config = ARCJobConfig(bootstrap_file=write(tmp_path / "setup.sh"),
                          input_files=[JobInputFile(write(tmp_path / "a" / "setup.sh"), copy=False)])
    with pytest.raises(UsageError, match="share the name.*setup.sh.*session directory"):
        ARCJobFileFactory().create(plan, config)


def test_values_are_quoted_and_bad_lines_refused(plan):
    assert xrsl_value('say "hi"', "x") == '"say ""hi"""'
    with pytest.raises(UsageError, match="contains a newline"):
        xrsl_value("a\nb", "queue")
    factory = ARCJobFileFactory()
    assert factory.create_line(("priority", 60)) == '(priority="60")'
    with pytest.raises(UsageError, match="must be one relation in parentheses"):
        factory.create_line("rerun=2")
    with pytest.raises(UsageError, match="attribute name"):
        factory.create_line(("bad name", 1))


def test_cancel_guard_can_be_turned_off(plan, tmp_path):
    factory = ARCJobFileFactory()
    with_guard = factory.render_script(plan, ARCJobConfig())
    without = factory.render_script(plan, ARCJobConfig(cancel_guard=False))
    assert 'pk_script="$PWD"/job.sh' in with_guard and "pk_script" not in without
