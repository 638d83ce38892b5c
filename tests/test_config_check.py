"""
law.cfg is checked before anything runs: an unusable value stops ``pipekit run`` with one line
naming the file, section, option and value (exit code 2, no traceback, nothing run or
submitted); likely misspellings of pipekit's options and sections are warned about.
"""

from __future__ import annotations

import pytest
from cli_helpers import run_cli, write

WORKFLOW = '''
import luigi
import pipekit as law
law.contrib.load("slurm")


class Wf(law.slurm.SlurmWorkflow, law.LocalWorkflow):
    def create_branch_map(self):
        return [0, 1]

    def output(self):
        return law.LocalFileTarget(f"data/b{self.branch}.txt")

    def run(self):
        self.output().dump("done", formatter="text")
'''

BAD_VALUES = [
    ("job", "retry_memory_factor", "double", "not a number"),
    ("slurm", "retry_walltime_factor", "0.5", "must be at least 1"),
    ("job", "retry_memory_max", "lots", "not a memory size"),
    ("sge", "retry_walltime_max", "forever", "not a duration"),
    ("slurm", "keep_scratch", "sometimes", "boolean; use True or False"),
    ("htcondor", "max_free_retries", "-2", "must be at least 0"),
    ("luigi_core", "workers", "two", "not a valid IntParameter"),
    ("slurm", "sbatch_args", '--qos="x', "no closing quotation"),
    ("job", "lost_job_grace", "soon", "not a number of seconds"),
    ("slurm", "max_array_size", "0", "must be at least 1"),
    ("slurm", "command_timeout", "-6", "more than 0 seconds"),
    ("slurm", "cpus", "two", "not a whole number"),
    ("slurm", "walltime", "forever", "not a duration"),
    ("htcondor", "max_idle", "lots", "not a whole number"),
    ("core", "sync_env", "maybe", "boolean; use True or False"),
    ("sge", "qsub_args", '-l "h_rt=1', "no closing quotation"),
    ("sge", "max_array_size", "-1", "must be at least 1"),
    ("lsf", "bjobs_json", "sometimes", "boolean; use True or False"),
    ("lsf", "walltime", "a while", "not a duration"),
    ("core", "provenance", "maybe", "boolean; use True or False"),
    ("provenance", "checksum", "adler", "boolean; use True or False"),
    ("job", "credentials", "x509,kerberos", "not a credential choice; use auto, none, x509"),
    ("job", "credential_margin", "plenty", "not a duration"),
    ("slurm", "credentials", "proxy", "not a credential choice"),
    ("arc", "memory", "2GB", "not a whole number"),
    ("arc", "walltime", "long", "not a duration"),
    ("arc", "arcsub_args", '--debug "INFO', "no closing quotation"),
    ("arc", "cancel_guard", "perhaps", "boolean; use True or False"),
]


@pytest.mark.parametrize("section, option, value, reason", BAD_VALUES,
                         ids=[f"{s}.{o}" for s, o, _, _ in BAD_VALUES])
@pytest.mark.parametrize("workflow", ["local", "slurm"])
def test_a_bad_value_stops_the_run_with_one_line_and_exit_code_2(tmp_path, section, option,
                                                                 value, reason, workflow):
    write(tmp_path / "wf.py", WORKFLOW)
    cfg = write(tmp_path / "law.cfg", f"[{section}]\n{option}: {value}\n")
    proc = run_cli(["run", "wf.Wf", "--workflow", workflow], tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"pipekit: error: {cfg}: [{section}] {option} = {value!r}: ")
    assert reason in lines[0]
    assert "Traceback" not in proc.stdout + proc.stderr and "Luigi Execution Summary" not in proc.stdout
    assert not (tmp_path / "data").exists()  # nothing ran, nothing was submitted


def test_a_bad_value_set_through_the_environment_names_the_variable(tmp_path):
    write(tmp_path / "wf.py", WORKFLOW)
    proc = run_cli(["run", "wf.Wf", "--workflow", "local"], tmp_path,
                   env={"LAW__slurm__command_timeout": "soon"})
    assert proc.returncode == 2
    assert "$LAW__slurm__command_timeout: [slurm] command_timeout = 'soon'" in proc.stderr


def test_misspelled_options_and_sections_are_warned_about_with_the_closest_name(tmp_path):
    write(tmp_path / "wf.py", WORKFLOW)
    cfg = write(tmp_path / "law.cfg", """
        [slurm]
        comand_timeout: 5
        [slrum]
        partition: short
        [luigi_core]
        worker: 2
        [sge]
        paralel_environment: smp
        [arc]
        computing_element: https://ce.example.org/arex
        credential: x509
        """)
    proc = run_cli(["run", "wf.Wf", "--workflow", "local"], tmp_path)
    assert proc.returncode == 0, proc.stderr  # a warning, the run goes on
    assert (f"pipekit: warning: {cfg}: [slurm] comand_timeout is not an option pipekit reads; "
            "did you mean command_timeout?") in proc.stderr
    assert "section [slrum] is not one pipekit reads; did you mean [slurm]?" in proc.stderr
    assert "[luigi_core] worker is not an option of luigi's [core]; did you mean workers?" in proc.stderr
    assert "[sge] paralel_environment is not an option pipekit reads; did you mean " \
           "parallel_environment?" in proc.stderr
    assert "[arc] credential is not an option pipekit reads; did you mean credentials?" in proc.stderr
    assert (tmp_path / "data" / "b1.txt").exists()


def test_options_law_reads_and_sections_of_ones_own_give_no_warning(tmp_path):
    write(tmp_path / "wf.py", WORKFLOW)
    write(tmp_path / "law.cfg", """
        [job]
        job_file_dir_mkdtemp: True
        credentials: x509,token
        credential_margin: 0
        retry_memory_factor: 1.5
        retry_memory_max: 16G
        bundle_cache: $TMPDIR/bundles
        slurm_cmd_sbatch: sbatch
        htcondor_chunk_size_query: 25
        [target]
        colored_repr: False
        [wlcg_fs]
        base: root://eos.example.org//store
        [Wf]
        retries: 2
        [slurm]
        partition: short
        walltime: 2h
        scratch_dir: $TMPDIR
        keep_scratch: False
        retry_walltime_factor: 2
        retry_walltime_max: 48h
        sbatch_args: --qos=normal --comment="two words"
        [sge]
        queue: long.q
        parallel_environment: smp
        accounting: auto
        [lsf]
        memory_unit: MB
        bjobs_json: false
        bsub_args: -R "select[type==X86_64]"
        credentials: none
        [htcondor]
        oauth_services: scitokens
        [arc]
        ce: https://ce1.example.org/arex, https://ce2.example.org/arex
        walltime: 2h
        memory: 2000
        runtime_environments: ENV/PROXY
        xrsl_lines: (rerun="2")
        cancel_guard: false
        """)
    proc = run_cli(["run", "wf.Wf", "--workflow", "local"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--tasks-per-job", "0"], "--tasks-per-job of Wf: '0' (BoundedIntParameter: must be at least 1"),
    (["--tasks-per-job", "-3"], "--tasks-per-job of Wf: '-3'"),
    (["--parallel-jobs", "-5"], "--parallel-jobs of Wf: '-5' (BoundedIntParameter: must be at "
                                "least 1, got -5; leave it out for no limit)"),
    (["--job-workers", "0"], "--job-workers of Wf: '0'"),
])
def test_nonsense_job_counts_are_refused_not_read_as_one_or_no_limit(tmp_path, args, message):
    write(tmp_path / "wf.py", WORKFLOW)
    proc = run_cli(["run", "wf.Wf", "--workflow", "slurm", "--dry-run", *args], tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert message in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
