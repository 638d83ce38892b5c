"""
Remote file systems from law.cfg (pipekit/target/remote/config.py): option parsing, section
fallback, several and per-operation bases, the choice of file interface, the cache settings.
"""

from __future__ import annotations

import textwrap

import pytest

from pipekit.errors import ConfigError
from pipekit.target.remote.config import (
    ConfiguredFileSystem,
    choose_interface,
    make_cache,
    read_fs_options,
)


def law_cfg(home, text: str) -> None:
    (home.parent / "work" / "law.cfg").write_text(textwrap.dedent(text).lstrip())


def test_named_sections_fall_back_to_the_default_section(home):
    law_cfg(
        home,
        """
        [wlcg_fs]
        base: root://door.example.org//store
        retries: 5
        retry_delay: 2s

        [wlcg_fs_mine]
        base: root://other.example.org//me
        retry_delay: 1m
    """,
    )
    opts = read_fs_options("wlcg_fs_mine", "wlcg_fs")
    assert opts["base"] == ["root://other.example.org//me"]
    assert opts["retries"] == 5 and opts["retry_delay"] == 60.0
    assert opts["validate_copy"] is True and opts["checksum"] == "adler32"  # built-in defaults


def test_request_timeout_and_stall_warning_reach_the_interface(home):
    law_cfg(
        home,
        """
        [wlcg_fs]
        base: file:///tmp/pipekit-never-used
        file_interface: fsspec
        request_timeout: 45s

        [wlcg_fs_slow]
        base: s3://bucket/prefix
        request_timeout: 10m
        stall_warning: 0
    """,
    )
    fs = ConfiguredFileSystem("wlcg_fs")
    assert fs.file_interface.request_timeout == 45.0
    assert fs.file_interface.stall_warning == 20.0  # the default
    slow = ConfiguredFileSystem("wlcg_fs_slow").file_interface
    assert slow.request_timeout == 600.0 and slow.stall_warning == 0.0  # 0: never warn
    assert slow.enforces_request_timeout  # s3fs ends a request after its read timeout


def test_several_bases_with_braces_and_per_operation_bases(home):
    law_cfg(
        home,
        """
        [wlcg_fs]
        base: root://door{1,2}.example.org//store, root://door3.example.org//store
        base_filecopy: root://fast.example.org//store
        base_stat: &::base_filecopy
    """,
    )
    opts = read_fs_options("wlcg_fs", "wlcg_fs")
    assert opts["base"] == [
        "root://door1.example.org//store",
        "root://door2.example.org//store",
        "root://door3.example.org//store",
    ]
    assert opts["bases"] == {
        "stat": ["root://fast.example.org//store"],
        "filecopy": ["root://fast.example.org//store"],
    }


def test_cache_options_and_law_spellings(home, tmp_path):
    law_cfg(
        home,
        f"""
        [wlcg_fs]
        base: root://h//s
        cache_root: {tmp_path}/cache
        cache_max_size: 2GB
        cache_file_perm: 0o660
        cache_dir_perm: 770
        cache_wait_delay: 5s
        cache_max_waits: 12
    """,
    )
    opts = read_fs_options("wlcg_fs", "wlcg_fs")
    assert opts["cache_max_size"] == 2 * 1024**3
    assert opts["cache_file_perm"] == 0o660 and opts["cache_dir_perm"] == 0o770
    assert opts["cache_lock_timeout"] == 60.0
    cache = make_cache(opts, "wlcg_fs")
    assert cache.base.startswith(str(tmp_path / "cache" / "wlcg_fs_"))
    assert make_cache(dict(opts, cache_root=None), "wlcg_fs") is None


def test_fsspec_and_s3_options_become_storage_options(home):
    law_cfg(
        home,
        """
        [wlcg_fs_s3]
        base: s3://bucket/prefix
        s3_endpoint_url: http://127.0.0.1:5000
        s3_anon: false
        fsspec_default_block_size: 1048576
    """,
    )
    opts = read_fs_options("wlcg_fs_s3", "wlcg_fs")
    assert opts["storage_options"] == {
        "endpoint_url": "http://127.0.0.1:5000",
        "anon": False,
        "default_block_size": 1048576,
    }
    assert choose_interface(opts) == "fsspec"  # gfal2 cannot list S3 prefixes


def test_file_interface_can_be_forced_and_is_checked(home):
    law_cfg(
        home,
        """
        [wlcg_fs]
        base: root://h//s
        file_interface: fsspec
        [wlcg_fs_bad]
        base: root://h//s
        file_interface: ftp
    """,
    )
    assert choose_interface(read_fs_options("wlcg_fs")) == "fsspec"
    with pytest.raises(ConfigError, match=r"\[wlcg_fs_bad\] file_interface = 'ftp'"):
        choose_interface(read_fs_options("wlcg_fs_bad", "wlcg_fs"))


def test_bad_values_name_the_section_and_option(home):
    law_cfg(
        home,
        """
        [wlcg_fs]
        base: root://h//s
        retries: many
    """,
    )
    with pytest.raises(ConfigError, match=r"\[wlcg_fs\] retries = 'many'"):
        read_fs_options("wlcg_fs")


def test_a_missing_named_section_is_a_config_error(home):
    law_cfg(home, "[wlcg_fs]\nbase: root://h//s\n")
    with pytest.raises(ConfigError, match=r"no section \[wlcg_fs_typo\]"):
        read_fs_options("wlcg_fs_typo", "wlcg_fs")


def test_a_file_system_without_base_says_how_to_set_it(home):
    law_cfg(home, "[remote_fs]\nretries: 1\n")
    with pytest.raises(ConfigError, match=r"no base URL .*\[remote_fs\].*base: root://"):
        ConfiguredFileSystem()
    assert ConfiguredFileSystem.default_instance is None


def test_keyword_arguments_override_the_section(home, tmp_path):
    law_cfg(home, "[remote_fs]\nbase: root://h//s\nfile_interface: fsspec\n")
    fs = ConfiguredFileSystem(base=f"file://{tmp_path}", retries=0)
    assert fs.base == [f"file://{tmp_path}"] and fs.file_interface.retries == 0
