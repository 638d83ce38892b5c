"""
The law-compatible surface: every name of the compatibility list (``import pipekit as law``)
exists where law has it; any missing name fails.
"""

from __future__ import annotations

import importlib

import pytest

import pipekit

TOP_LEVEL = """
    Register Task WrapperTask ExternalTask SandboxTask
    BaseWorkflow LocalWorkflow WorkflowParameter workflow_property cached_workflow_property
    dynamic_workflow_condition
    FileSystemTarget FileSystemFileTarget FileSystemDirectoryTarget LocalFileSystem LocalTarget
    LocalFileTarget LocalDirectoryTarget TargetCollection FileCollection SiblingFileCollection
    NestedSiblingFileCollection MirroredTarget MirroredFileTarget MirroredDirectoryTarget
    localize_file_targets
    Sandbox BashSandbox VenvSandbox
    BaseJobManager BaseJobFileFactory JobInputFile JobArguments
    NO_STR NO_INT NO_FLOAT is_no_param get_param Parameter TaskInstanceParameter
    OptionalBoolParameter DurationParameter BytesParameter CSVParameter MultiCSVParameter
    RangeParameter MultiRangeParameter NotifyParameter NotifyMultiParameter NotifyMailParameter
    NotifyCustomParameter
    Config run no_value notify_mail luigi_version luigi_version_info util decorator config contrib
""".split()

SUBPACKAGES = {
    "htcondor": [
        "HTCondorWorkflow",
        "HTCondorJobManager",
        "HTCondorJobFileFactory",
        "get_htcondor_version",
    ],
    "slurm": ["SlurmWorkflow", "SlurmJobManager", "SlurmJobFileFactory", "get_slurm_version"],
    "lsf": ["LSFWorkflow", "LSFJobManager", "LSFJobFileFactory", "get_lsf_version"],
    # law has no Grid Engine package; pipekit's follows the names of its lsf and slurm packages
    "sge": ["SGEWorkflow", "SGEJobManager", "SGEJobFileFactory", "get_sge_version"],
    "docker": ["DockerSandbox"],
    "singularity": ["SingularitySandbox"],
    "gfal": ["GFALFileInterface"],
    "wlcg": ["WLCGFileSystem", "WLCGTarget", "WLCGFileTarget", "WLCGDirectoryTarget"],
    "dropbox": [
        "DropboxFileSystem",
        "DropboxTarget",
        "DropboxFileTarget",
        "DropboxDirectoryTarget",
    ],
    "ipython": ["Task", "register_magics"],
    "slack": ["notify_slack", "NotifySlackParameter"],
    "telegram": ["notify_telegram", "NotifyTelegramParameter"],
    "mattermost": ["notify_mattermost", "NotifyMattermostParameter"],
    "tasks": ["RunOnceTask", "TransferLocalFile", "ForestMerge"],
    "numpy": ["NumpyFormatter"],
    "pandas": ["DataFrameFormatter"],
    "matplotlib": ["MatplotlibFormatter"],
}

DECORATORS = ["log", "safe_output", "delay", "notify", "timeit", "localize", "require_sandbox"]
UTIL = [
    "flatten",
    "make_list",
    "make_tuple",
    "map_struct",
    "human_bytes",
    "parse_bytes",
    "human_duration",
    "parse_duration",
    "range_expand",
    "range_join",
    "no_value",
    "brace_expand",
    "rel_path",
    "law_src_path",
    "law_home_path",
]
SUBCOMMANDS = [
    "run",
    "index",
    "config",
    "location",
    "software",
    "luigid",
    "quickstart",
    "completion",
]
WORKFLOW_OPTIONS = ["workflow", "branch", "branches", "acceptance", "tolerance", "pilot"]
INTERACTIVE_OPTIONS = [
    "print_deps",
    "print_status",
    "print_output",
    "remove_output",
    "fetch_output",
]
REMOTE_OPTIONS = [
    "retries",
    "tasks_per_job",
    "parallel_jobs",
    "no_poll",
    "poll_interval",
    "poll_fails",
    "walltime",
    "job_workers",
    "shuffle_jobs",
    "cancel_jobs",
    "cleanup_jobs",
    "ignore_submission",
    "transfer_logs",
    "clear_logs",
]
BATCH_HOOKS = [
    "output_directory",
    "bootstrap_file",
    "stageout_file",
    "job_config",
    "workflow_requires",
    "job_resources",
    "check_job_completeness",
    "poll_callback",
]
SANDBOX_HOOKS = [
    "sandbox_stagein",
    "sandbox_stageout",
    "sandbox_setup_cmds",
    "sandbox_pre_setup_cmds",
    "sandbox_post_setup_cmds",
]


def resolve(path: str):
    """``"pipekit.X.Y"`` -> the object (an ImportError or AttributeError fails the test)."""
    module, _, name = path.rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize("name", TOP_LEVEL)
def test_top_level_name_exists(name):
    assert resolve(f"pipekit.{name}") is not None
    assert name in dir(pipekit)


@pytest.mark.parametrize("name, attr", [(p, a) for p, attrs in SUBPACKAGES.items() for a in attrs])
def test_subpackage_name_is_importable_directly(name, attr):
    assert resolve(f"pipekit.{name}.{attr}") is not None


@pytest.mark.parametrize("name", list(SUBPACKAGES))
def test_contrib_load_makes_the_subpackage_an_attribute(name):
    contrib = resolve("pipekit.contrib")
    contrib.load(name)
    module = getattr(pipekit, name)
    assert all(hasattr(module, attr) for attr in SUBPACKAGES[name])


def test_contrib_load_of_one_name_returns_the_module():
    assert resolve("pipekit.contrib").load("tasks") is pipekit.tasks


@pytest.mark.parametrize("name", DECORATORS)
def test_decorator_exists(name):
    from pipekit import decorator

    assert callable(getattr(decorator, name))


@pytest.mark.parametrize("name", UTIL)
def test_util_name_exists(name):
    assert hasattr(pipekit.util, name)


def test_util_behaves_like_law_util():
    u = pipekit.util
    assert u.flatten([1, [2, (3, {"a": 4})]]) == [1, 2, 3, 4]
    assert u.make_list((1, 2)) == [1, 2] and u.make_tuple(3) == (3,)
    assert u.range_expand(["1:3", "7"]) == [1, 2, 7]
    assert u.range_join([1, 2, 3, 7], to_str=True) == "1:4,7"
    assert u.human_bytes(3 * 1024**2, fmt=True) == "3.0 MB"
    assert u.parse_bytes("2 kB") == 2048 and u.parse_duration("1h30m") == 5400
    assert u.brace_expand("a{1,2}") == ["a1", "a2"]
    assert u.rel_path(pipekit.__file__, "cli") == u.law_src_path("cli")


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_subcommand_exists(name):
    from pipekit.cli.main import SUBCOMMANDS as available

    assert name in available
    assert callable(importlib.import_module(available[name][0]).execute)


def test_workflow_and_interactive_options_are_command_line_options():
    from pipekit.cli.run import RUN_OPTIONS, format_help

    class CompatWorkflow(pipekit.LocalWorkflow):
        def create_branch_map(self):
            return [0]

    text = format_help(CompatWorkflow, "pipekit run")
    for name in WORKFLOW_OPTIONS + INTERACTIVE_OPTIONS:
        assert f"--{name.replace('_', '-')}" in text
    assert set(INTERACTIVE_OPTIONS) <= set(RUN_OPTIONS)


@pytest.mark.parametrize("system, workflow", [
    ("slurm", "SlurmWorkflow"), ("htcondor", "HTCondorWorkflow"), ("lsf", "LSFWorkflow"),
    ("sge", "SGEWorkflow"),
])
def test_remote_workflow_options_and_hooks(system, workflow):
    cls = resolve(f"pipekit.{system}.{workflow}")
    params = {name for name, _ in cls.get_params()}
    assert set(REMOTE_OPTIONS) <= params, sorted(set(REMOTE_OPTIONS) - params)
    missing = [f"{system}_{hook}" for hook in BATCH_HOOKS
               if not callable(getattr(cls, f"{system}_{hook}", None))]
    assert not missing


def test_user_hooks_of_workflows_and_sandboxes():
    for hook in ("create_branch_map", "workflow_requires", "requires", "output"):
        assert callable(getattr(pipekit.BaseWorkflow, hook))
    sandbox_task = resolve("pipekit.SandboxTask")
    missing = [h for h in SANDBOX_HOOKS if not callable(getattr(sandbox_task, h, None))]
    assert not missing


def test_user_base_class_and_workflow_mixins_give_a_valid_mro():
    class AnalysisTask(pipekit.Task):
        pass

    class Both(AnalysisTask, pipekit.LocalWorkflow):
        def create_branch_map(self):
            return [1, 2]

    assert Both.__mro__.index(AnalysisTask) < Both.__mro__.index(pipekit.LocalWorkflow)
    assert Both(branch=1).branch_data == 2
