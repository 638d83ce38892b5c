"""
Shared fixtures for the pipekit test suite.

Every test starts with a fresh process-wide configuration: no cached :class:`pipekit.config.Config`
instance, no ``LAW_*`` / ``PIPEKIT_*`` environment variables from the developer's shell, and a
luigi configuration singleton that is thrown away afterwards (``[luigi_*]`` sections are pushed
into it). Add further fixtures below; keep this one cheap, it runs for every test.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def fresh_config(monkeypatch: pytest.MonkeyPatch):
    """Reset pipekit's config instance, LAW_*/PIPEKIT_* env vars and luigi's config singleton."""
    import luigi.configuration

    from pipekit.config import Config

    for name in list(os.environ):
        if name.startswith(("LAW_", "PIPEKIT_")):
            monkeypatch.delenv(name)
    monkeypatch.setattr(Config, "_instance", None)
    # a new luigi config is created on next use and the previous one restored after the test
    monkeypatch.setattr(luigi.configuration.LuigiConfigParser, "_instance", None)
    yield
    Config._instance = None


@pytest.fixture
def home(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """An empty home directory (``~``) and working directory, so no real law.cfg is discovered."""
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return home


def _require_service(name: str, available: bool, reason: str = "") -> None:
    """Skip the test when *name* is not available, except in CI (``CI=true``), where it fails."""
    if available:
        return
    msg = f"{name} is not available" + (f": {reason}" if reason else "")
    if os.getenv("CI", "").lower() == "true":
        pytest.fail(f"{msg} (CI=true requires every test service; see tests/infra/ and .ci/run)")
    pytest.skip(msg)


@pytest.fixture
def task_module(tmp_path, monkeypatch: pytest.MonkeyPatch, home):
    """
    ``task_module(name, source)``: the task module *name* made of *source* (dedented) in
    ``tmp_path`` and imported, as a user's analysis module would be; forgotten after the test.
    """
    import importlib
    import sys
    import textwrap

    names = []

    def load(name: str, source: str):
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.syspath_prepend(str(tmp_path))
        names.append(name)
        return importlib.import_module(name)

    yield load
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture(scope="session")
def require_service():
    """``require_service(name, available, reason)``: skip locally, fail in CI, when a service is missing."""
    return _require_service


@pytest.fixture(scope="session")
def htcondor_bindings(require_service):
    """HTCondor's Python bindings (the [test] extra): skipped locally, required in CI."""
    import importlib.util

    require_service("htcondor bindings", importlib.util.find_spec("htcondor") is not None,
                    "pip install -e '.[test]' (htcondor<24.1)")


@pytest.fixture
def fresh_tasks(home):
    """Every test in its own directory, with no task instances or branch maps from earlier ones."""
    import luigi

    from pipekit.workflow import base

    luigi.task_register.Register.clear_instance_cache()
    base._branch_map_cache.clear()
    yield
    luigi.task_register.Register.clear_instance_cache()
    base._branch_map_cache.clear()


@pytest.fixture(scope="session")
def grid_services(require_service):
    """
    ``grid_services("voms", "arc", ...)``: start those mini-grid services of tests/infra
    (skipped locally, failing in CI when one cannot start). What the session started itself is
    stopped at its end, outside CI.
    """
    import grid_helpers

    def need(*names: str) -> None:
        for name in names:
            reason = grid_helpers.start(name)
            require_service(name, reason is None, reason or "")

    yield need
    grid_helpers.stop_started()


@pytest.fixture
def grid_user(monkeypatch: pytest.MonkeyPatch, grid_services):
    """This process as a grid user of the test CA (X509_* set; ``grid_user(proxy_name)`` switches)."""
    import grid_helpers

    grid_services("gridca")

    def use(proxy_name: str | None = "x509up_12h") -> dict[str, str]:
        env = grid_helpers.grid_env(proxy_name)
        for key in [k for k in os.environ if k.startswith(("X509_", "BEARER_TOKEN"))]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            if key.startswith(("X509_", "VOMS_")):
                monkeypatch.setenv(key, value)
        return env

    use()
    return use
