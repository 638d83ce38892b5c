"""``pipekit config``: printing the resolved configuration (real subprocesses)."""

from __future__ import annotations

import pytest
from cli_helpers import run_cli, write


@pytest.fixture
def work(tmp_path):
    work = tmp_path / "work"
    write(
        work / "law.cfg",
        """
        [core]
        software_dir: $ANALYSIS_BASE/software

        [modules]
        analysis.tasks

        [notifications]
        mail_recipient: someone@example.org
    """,
    )
    return work


def test_config_prints_every_section_with_expanded_values(work):
    res = run_cli(["config"], work, env={"ANALYSIS_BASE": "/data/ana"})
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "[core]\n" in out and "software_dir: /data/ana/software" in out
    assert "[modules]\nanalysis.tasks\n" in out
    assert "[notifications]\nmail_recipient: someone@example.org" in out
    assert "[local_fs]" in out  # defaults are part of the resolved configuration


def test_config_raw_keeps_variables(work):
    res = run_cli(["config", "--raw", "core"], work, env={"ANALYSIS_BASE": "/data/ana"})
    assert "software_dir: $ANALYSIS_BASE/software" in res.stdout
    assert "[notifications]" not in res.stdout


def test_config_prints_one_value_bare_for_scripts(work):
    res = run_cli(["config", "notifications.mail_recipient"], work)
    assert res.returncode == 0
    assert res.stdout == "someone@example.org\n"


def test_environment_overrides_show_in_config(work):
    res = run_cli(
        ["config", "notifications.mail_recipient"],
        work,
        env={"LAW__notifications__mail_recipient": "other@example.org"},
    )
    assert res.stdout == "other@example.org\n"


@pytest.mark.parametrize(
    "name, expected",
    [
        ("notifications.mail_recipent", "no option 'mail_recipent' in section [notifications]"),
        ("notification.mail_recipient", "no section [notification]"),
    ],
)
def test_a_missing_option_or_section_exits_1_and_suggests(work, name, expected):
    res = run_cli(["config", name], work)
    assert res.returncode == 1
    assert expected in res.stderr and "did you mean" in res.stderr
    assert str(work / "law.cfg") in res.stderr
    assert res.stdout == ""


def test_location_prints_the_config_file_in_use(work, tmp_path):
    res = run_cli(["config", "--location"], work)
    assert res.stdout.strip() == str(work / "law.cfg")
    other = write(tmp_path / "elsewhere" / "my.cfg", "[core]\n")
    res = run_cli(["config", "--location"], work, env={"LAW_CONFIG_FILE": str(other)})
    assert res.stdout.strip() == str(other)


def test_location_without_a_config_file_says_where_it_looked(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = run_cli(["config", "--location"], empty)
    assert res.returncode == 1
    assert "no config file in use" in res.stderr and "law.cfg" in res.stderr
