"""Tests for pipekit.config: law.cfg discovery, includes, expansion, env overrides, luigi sync."""

from __future__ import annotations

import os
import textwrap

import luigi.configuration
import pytest

import pipekit.config
from pipekit.config import Config
from pipekit.errors import ConfigError


def write(path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return str(path)


# -- discovery ----------------------------------------------------------------------------------


def test_discovery_prefers_law_config_file_env_var(home, tmp_path, monkeypatch):
    chosen = write(tmp_path / "elsewhere" / "my.cfg", "[x]\nsrc: env\n")
    write(tmp_path / "work" / "law.cfg", "[x]\nsrc: cwd\n")
    monkeypatch.setenv("LAW_CONFIG_FILE", chosen)

    cfg = Config.instance()

    assert cfg.config_file == chosen
    assert cfg.get_expanded("x", "src") == "env"


def test_discovery_accepts_pipekit_config_file_alias(home, tmp_path, monkeypatch):
    chosen = write(tmp_path / "p.cfg", "[x]\nsrc: alias\n")
    monkeypatch.setenv("PIPEKIT_CONFIG_FILE", chosen)

    assert Config.instance().get_expanded("x", "src") == "alias"


def test_discovery_reads_law_cfg_in_working_directory_before_law_home(home, tmp_path, monkeypatch):
    write(tmp_path / "work" / "law.cfg", "[x]\nsrc: cwd\n")
    write(tmp_path / "lawhome" / "config", "[x]\nsrc: law_home\n")
    monkeypatch.setenv("LAW_HOME", str(tmp_path / "lawhome"))

    cfg = Config.instance()

    assert cfg.config_file == str(tmp_path / "work" / "law.cfg")
    assert cfg.get_expanded("x", "src") == "cwd"


@pytest.mark.parametrize("var", ["LAW_HOME", "PIPEKIT_HOME"])
def test_discovery_falls_back_to_law_home_config(home, tmp_path, monkeypatch, var):
    write(tmp_path / "lawhome" / "config", "[x]\nsrc: law_home\n")
    write(home / ".law" / "config", "[x]\nsrc: user\n")
    monkeypatch.setenv(var, str(tmp_path / "lawhome"))

    assert Config.instance().get_expanded("x", "src") == "law_home"


def test_discovery_falls_back_to_dot_law_config_in_home(home):
    write(home / ".law" / "config", "[x]\nsrc: user\n")

    cfg = Config.instance()

    assert cfg.config_file == str(home / ".law" / "config")
    assert cfg.get_expanded("x", "src") == "user"


def test_without_any_config_file_only_defaults_are_set(home):
    cfg = Config.instance()

    assert cfg.config_file is None
    assert cfg.config_files == []
    assert cfg.get_expanded_bool("core", "sync_luigi_config") is True


def test_law_config_file_pointing_to_missing_file_raises_config_error(home, tmp_path, monkeypatch):
    missing = str(tmp_path / "nope.cfg")
    monkeypatch.setenv("LAW_CONFIG_FILE", missing)

    with pytest.raises(ConfigError, match="LAW_CONFIG_FILE") as exc:
        Config.instance()
    assert missing in str(exc.value)


def test_instance_is_created_once_and_reset_forgets_it(home):
    first = Config.instance()
    assert Config.instance() is first

    Config.reset()

    assert Config.instance() is not first


# -- inherit / extend -----------------------------------------------------------------------------


def test_inherit_reads_other_files_first_so_the_inheriting_file_wins(home, tmp_path):
    write(tmp_path / "cfgs" / "base.cfg", "[x]\na: base\nb: base\n")
    main = write(tmp_path / "cfgs" / "main.cfg", "[core]\ninherit: base.cfg\n[x]\na: main\n")

    # the working directory is not the config directory: paths resolve against the file
    cfg = Config(main)

    assert cfg.get_expanded("x", "a") == "main"
    assert cfg.get_expanded("x", "b") == "base"


def test_extend_reads_other_files_after_so_they_win(home, tmp_path):
    write(tmp_path / "cfgs" / "local.cfg", "[x]\na: local\n")
    main = write(
        tmp_path / "cfgs" / "main.cfg", "[core]\nextend: local.cfg\n[x]\na: main\nb: main\n"
    )

    cfg = Config(main)

    assert cfg.get_expanded("x", "a") == "local"
    assert cfg.get_expanded("x", "b") == "main"


def test_includes_of_an_inherited_file_are_relative_to_that_file(home, tmp_path):
    write(tmp_path / "cfgs" / "common" / "base.cfg", "[core]\nextend: site.cfg\n[x]\na: base\n")
    write(tmp_path / "cfgs" / "common" / "site.cfg", "[x]\nb: site\n")
    main = write(tmp_path / "cfgs" / "main.cfg", "[core]\ninherit: common/base.cfg\n[x]\nc: main\n")

    cfg = Config(main)

    assert cfg.get_section("x") == {"a": "base", "b": "site", "c": "main"}
    assert cfg.config_files == [
        str(tmp_path / "cfgs" / "common" / "base.cfg"),
        str(tmp_path / "cfgs" / "common" / "site.cfg"),
        main,
    ]


def test_inherit_naming_a_missing_file_raises_config_error(home, tmp_path):
    main = write(tmp_path / "main.cfg", "[core]\ninherit: gone.cfg\n")

    with pytest.raises(ConfigError) as exc:
        Config(main)
    assert "gone.cfg" in str(exc.value)
    assert main in str(exc.value)


@pytest.mark.parametrize(
    "files, cycle",
    [
        (
            {"a.cfg": "[core]\ninherit: b.cfg\n", "b.cfg": "[core]\ninherit: a.cfg\n"},
            ["a.cfg", "b.cfg", "a.cfg"],
        ),
        ({"a.cfg": "[core]\nextend: a.cfg\n"}, ["a.cfg", "a.cfg"]),
        (
            {
                "a.cfg": "[core]\ninherit: b.cfg\n",
                "b.cfg": "[core]\nextend: c.cfg\n",
                "c.cfg": "[core]\ninherit: b.cfg\n",
            },
            ["b.cfg", "c.cfg", "b.cfg"],
        ),
    ],
    ids=["inherit-each-other", "extend-itself", "three-files"],
)
def test_include_cycle_raises_config_error_naming_the_files(home, tmp_path, files, cycle):
    for name, text in files.items():
        write(tmp_path / name, text)

    with pytest.raises(ConfigError, match="cycle") as exc:
        Config(str(tmp_path / "a.cfg"))
    assert " -> ".join(str(tmp_path / name) for name in cycle) in str(exc.value)


def test_the_same_file_may_be_inherited_through_two_branches(home, tmp_path):
    write(tmp_path / "common.cfg", "[x]\nc: common\n")
    write(tmp_path / "b.cfg", "[core]\ninherit: common.cfg\n[x]\nb: b\n")
    write(tmp_path / "d.cfg", "[core]\ninherit: common.cfg\n[x]\nd: d\n")
    main = write(tmp_path / "main.cfg", "[core]\ninherit: b.cfg, d.cfg\n")

    assert Config(main).get_section("x") == {"c": "common", "b": "b", "d": "d"}


# -- expansion and references -------------------------------------------------------------------


def test_get_expanded_expands_variables_and_home(home, monkeypatch):
    monkeypatch.setenv("DATA_DIR", "/store/data")
    write(
        home.parent / "work" / "law.cfg",
        r"""
        [paths]
        data: $DATA_DIR/run1
        braced: ${DATA_DIR}/run2
        user: ~/results
        literal: \$DATA_DIR
    """,
    )
    cfg = Config.instance()

    assert cfg.get_expanded("paths", "data") == "/store/data/run1"
    assert cfg.get_expanded("paths", "braced") == "/store/data/run2"
    assert cfg.get_expanded("paths", "user") == str(home / "results")
    assert cfg.get_expanded("paths", "literal") == "$DATA_DIR"
    # get_default does not expand
    assert cfg.get_default("paths", "data") == "$DATA_DIR/run1"


def test_references_resolve_to_options_in_same_and_other_sections(home, monkeypatch):
    monkeypatch.setenv("BASE", "/b")
    write(
        home.parent / "work" / "law.cfg",
        """
        [paths]
        base: $BASE/x
        same: &::base
        [job]
        other: &::paths::base
        chained: &::other
    """,
    )
    cfg = Config.instance()

    assert cfg.get_expanded("paths", "same") == "/b/x"
    assert cfg.get_expanded("job", "other") == "/b/x"
    assert cfg.get_expanded("job", "chained") == "/b/x"


def test_circular_reference_raises_config_error(home):
    write(home.parent / "work" / "law.cfg", "[x]\na: &::b\nb: &::a\n")

    with pytest.raises(ConfigError, match="circular"):
        Config.instance().get_expanded("x", "a")


def test_missing_option_without_default_raises_and_with_default_returns_it(home):
    cfg = Config.instance()

    with pytest.raises(ConfigError, match="'nothing'"):
        cfg.get_expanded("core", "nothing")
    assert cfg.get_expanded("core", "nothing", "fallback") == "fallback"
    assert cfg.get_expanded("no_such_section", "x", 3) == 3


def test_none_value_gives_the_default(home):
    write(home.parent / "work" / "law.cfg", "[x]\na: None\n")
    cfg = Config.instance()

    assert cfg.get_expanded("x", "a", "dflt") == "dflt"
    assert cfg.get_expanded("x", "a") == "None"


def test_typed_getters_convert_and_reject_bad_values(home):
    write(
        home.parent / "work" / "law.cfg",
        """
        [x]
        n: 42
        f: 2.5
        yes: True
        no: off
        bad: forty-two
        list: a, b ,c,
    """,
    )
    cfg = Config.instance()

    assert cfg.get_expanded_int("x", "n") == 42
    assert cfg.get_expanded_float("x", "f") == 2.5
    assert cfg.get_expanded_bool("x", "yes") is True
    assert cfg.get_expanded_bool("x", "no") is False
    assert cfg.get_expanded("x", "list", split_csv=True) == ["a", "b", "c"]
    with pytest.raises(ConfigError) as exc:
        cfg.get_expanded_int("x", "bad")
    assert "[x] bad" in str(exc.value)
    assert "law.cfg" in str(exc.value)


def test_module_level_functions_read_the_process_wide_config(home):
    write(home.parent / "work" / "law.cfg", "[x]\na: 1\nab: 2\nb: 3\n")

    assert pipekit.config.get_expanded("x", "a") == "1"
    assert pipekit.config.get_expanded_int("x", "b") == 3
    assert pipekit.config.has_option("x", "ab")
    assert pipekit.config.options("x", prefix="a") == ["a", "ab"]
    assert pipekit.config.keys("x") == ["a", "ab", "b"]
    pipekit.config.set("x", "c", 4)
    assert Config.instance().get_expanded_int("x", "c") == 4


def test_index_file_defaults_to_dot_law_next_to_the_config_file(home, tmp_path):
    cfg_path = write(tmp_path / "ana" / "law.cfg", "[core]\n")

    assert Config(cfg_path).index_file() == str(tmp_path / "ana" / ".law" / "index")


# -- environment overrides ------------------------------------------------------------------------


def test_environment_variables_override_options(home, monkeypatch):
    write(home.parent / "work" / "law.cfg", "[target]\ntmp_dir: /from/file\n")
    monkeypatch.setenv("LAW__target__tmp_dir", "/from/env")
    monkeypatch.setenv("PIPEKIT__brand_new__opt", "v")

    cfg = Config.instance()

    assert cfg.get_expanded("target", "tmp_dir") == "/from/env"
    assert cfg.get_expanded("brand_new", "opt") == "v"


# -- luigi sections -------------------------------------------------------------------------------


def test_luigi_sections_are_passed_to_luigi_config(home):
    write(
        home.parent / "work" / "law.cfg",
        """
        [luigi_core]
        local_scheduler: True
        [luigi_worker]
        keep_alive: False
    """,
    )

    Config.instance()

    lconf = luigi.configuration.get_config()
    assert lconf.getboolean("core", "local_scheduler") is True
    assert lconf.getboolean("worker", "keep_alive") is False


def test_luigi_own_config_wins_over_law_cfg(home):
    lconf = luigi.configuration.get_config()
    if not lconf.has_section("core"):
        lconf.add_section("core")
    lconf.set("core", "local_scheduler", "false")
    write(home.parent / "work" / "law.cfg", "[luigi_core]\nlocal_scheduler: True\n")

    Config.instance()

    assert luigi.configuration.get_config().getboolean("core", "local_scheduler") is False


def test_environment_override_reaches_luigi(home, monkeypatch):
    monkeypatch.setenv("LAW__luigi_core__parallel_scheduling", "true")

    Config.instance()

    assert luigi.configuration.get_config().getboolean("core", "parallel_scheduling") is True


def test_changed_law_cfg_after_reset_updates_luigi(home):
    cfg_file = home.parent / "work" / "law.cfg"
    write(cfg_file, "[luigi_core]\nworkers: 2\n")
    Config.instance()
    write(cfg_file, "[luigi_core]\nworkers: 5\n")

    Config.reset()
    Config.instance()

    assert luigi.configuration.get_config().getint("core", "workers") == 5


def test_luigi_value_with_lone_percent_raises_config_error(home):
    write(home.parent / "work" / "law.cfg", "[luigi_task]\nlabel: 50%\n")

    with pytest.raises(ConfigError, match="%%"):
        Config.instance()


def test_sync_luigi_config_false_keeps_luigi_untouched(home):
    write(
        home.parent / "work" / "law.cfg",
        """
        [core]
        sync_luigi_config: False
        [luigi_core]
        local_scheduler: True
    """,
    )

    Config.instance()

    assert not luigi.configuration.get_config().has_option("core", "local_scheduler")


# -- modules --------------------------------------------------------------------------------------


def test_modules_section_lists_module_names(home):
    write(
        home.parent / "work" / "law.cfg",
        """
        [modules]
        analysis.tasks
        analysis.plots
        more: pkg.a, pkg.b
    """,
    )

    assert Config.instance().modules() == ["analysis.tasks", "analysis.plots", "pkg.a", "pkg.b"]


# -- malformed files ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, lineno, hint",
    [
        ("key: value\n[core]\n", 1, "outside of a section"),
        ("[core]\na: 1\n[luigi_core\nlocal_scheduler: True\n", 3, "[luigi_core"),
        ("[core]\na: 1\n: orphan value\n", 3, "orphan value"),
        ("[core]\na: 1\nb: 2\na: 3\n", 4, "'a'"),
        ("[core]\na: 1\n[core]\n", 3, "'core'"),
    ],
    ids=[
        "option-before-header",
        "broken-header",
        "empty-key",
        "duplicate-option",
        "duplicate-section",
    ],
)
def test_malformed_file_raises_config_error_naming_file_and_line(
    home, tmp_path, text, lineno, hint
):
    path = write(tmp_path / "broken.cfg", text)

    with pytest.raises(ConfigError) as exc:
        Config(path)

    message = str(exc.value)
    assert f"{path}:{lineno}:" in message
    assert hint in message


def test_malformed_discovered_file_raises_config_error(home):
    path = write(home.parent / "work" / "law.cfg", "[core\n")

    with pytest.raises(ConfigError, match=f"{path}:1:"):
        Config.instance()


def test_binary_file_raises_config_error(home, tmp_path):
    path = tmp_path / "bin.cfg"
    path.write_bytes(b"[core]\na: \xff\xfe\n")

    with pytest.raises(ConfigError, match="not a text file") as exc:
        Config(str(path))
    assert str(path) in str(exc.value)


def test_config_error_is_a_usage_error_with_exit_code_2(home, tmp_path):
    path = write(tmp_path / "broken.cfg", "orphan\n")

    with pytest.raises(ConfigError) as exc:
        Config(path)
    assert exc.value.exit_code == 2
    assert os.path.basename(path) in str(exc.value)


def test_option_without_colon_outside_modules_is_reported_with_its_line(home, tmp_path):
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[modules]\nanalysis.tasks\n\n[luigi_core]\nlocal_scheduler True\n")
    with pytest.raises(ConfigError) as exc:
        Config(str(cfg))
    assert f"{cfg}:5:" in str(exc.value)
    assert "local_scheduler: VALUE" in str(exc.value)


def test_bare_module_names_in_modules_section_are_accepted(home, tmp_path):
    cfg = tmp_path / "law.cfg"
    cfg.write_text("[modules]\nanalysis.tasks\nanalysis.plots\n")
    assert Config(str(cfg)).modules() == ["analysis.tasks", "analysis.plots"]


def test_law_config_file_dev_null_means_no_config_file_as_in_law(home, monkeypatch):
    (home.parent / "work" / "law.cfg").write_text("[core]\nindex_file: /from/cwd\n")
    monkeypatch.setenv("LAW_CONFIG_FILE", "/dev/null")
    from pipekit.config import Config

    cfg = Config.instance()
    assert cfg.config_file is None  # not ./law.cfg either
    assert cfg.get_expanded("core", "index_file", None) in (None, "")
