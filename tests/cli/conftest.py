"""Fixtures for CLI tests: a working folder with a database and a rule file."""
from __future__ import annotations

import pytest

from tests.cli.cli_helpers import RULES


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DOZOR_DB", str(tmp_path / "dozor.db"))
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    return tmp_path
