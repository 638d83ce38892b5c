"""
law's dropbox package (pipekit/dropbox.py): configuration, credentials and URIs only.

No test talks to Dropbox: there is no network in CI and no Dropbox server that runs locally.
What is checked is what pipekit builds before the first request: the file system from the
config section, the URIs, and the gfal2 options carrying the credentials.
"""

from __future__ import annotations

import textwrap

import pytest

from pipekit.errors import ConfigError

CREDS = "app_key: k123\napp_secret: s456\naccess_token: t789\n"


def law_cfg(home, text: str) -> None:
    (home.parent / "work" / "law.cfg").write_text(textwrap.dedent(text).lstrip())


def test_targets_build_dropbox_uris_from_the_section(home):
    from pipekit.dropbox import DropboxDirectoryTarget, DropboxFileTarget

    law_cfg(home, "[dropbox_fs]\nbase: dropbox://dropbox.com/my_analysis\n" + CREDS)
    t = DropboxFileTarget("/results/a.json")
    assert t.uri() == "dropbox://dropbox.com/my_analysis/results/a.json"
    assert t.uri(scheme=False) == "dropbox.com/my_analysis/results/a.json"
    assert isinstance(t.parent, DropboxDirectoryTarget)


def test_credentials_become_gfal2_dropbox_options(home):
    from pipekit.dropbox import DropboxFileSystem

    law_cfg(home, "[dropbox]\nbase: dropbox://dropbox.com/x\n" + CREDS)  # the older section name
    fs = DropboxFileSystem()
    assert fs.config_section == "dropbox"
    assert fs.file_interface.gfal_options == {
        "integer": [("DROPBOX", "OAUTH", 2)],
        "string": [
            ("DROPBOX", "APP_KEY", "k123"),
            ("DROPBOX", "APP_SECRET", "s456"),
            ("DROPBOX", "ACCESS_TOKEN", "t789"),
        ],
    }
    assert fs.file_interface.checksum_algorithm is None  # verified by size


def test_law_option_names_and_arguments_are_accepted(home):
    from pipekit.dropbox import DropboxFileSystem

    law_cfg(
        home,
        """
        [dropbox_fs]
        base: dropbox://dropbox.com/x
        dropbox_app_key: law-key
        dropbox_app_secret: law-secret
    """,
    )
    fs = DropboxFileSystem(access_token="from-arg")
    assert fs.credentials() == {
        "app_key": "law-key",
        "app_secret": "law-secret",
        "access_token": "from-arg",
    }


def test_missing_credentials_are_named(home):
    from pipekit.dropbox import DropboxFileTarget

    law_cfg(home, "[dropbox_fs]\nbase: dropbox://dropbox.com/x\napp_key: k\n")
    with pytest.raises(ConfigError, match=r"\[dropbox_fs\] lacks app_secret, access_token"):
        DropboxFileTarget("/a.json")


def test_dropbox_requests_get_the_timeouts_of_the_section(home):
    from pipekit.dropbox import DropboxFileSystem

    law_cfg(home, "[dropbox]\nbase: dropbox://dropbox.com/x\nrequest_timeout: 7\n" + CREDS)
    assert DropboxFileSystem().file_interface.request_timeout == 7.0
