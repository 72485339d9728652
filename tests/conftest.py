"""Shared fixtures: a real SQLite store in a temporary folder, digest rows, a fake sender (factories: tests/factories.py)."""
from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from bot.storage import Store
from tests.factories import SHARED, Rows, make_post, shared_file
from tests.fakes import FakeSender
from tests.pg_server import Databases, require_server

shared_path = shared_file  # the name the early tests use
__all__ = ["SHARED", "make_post", "shared_path"]
DEFAULT_RULES = Path(__file__).resolve().parents[1] / "config" / "rules.toml"


@asynccontextmanager
async def engine_store(engine: str, tmp_path, request):
    """A migrated store on `engine` ("sqlite": a file under tmp_path; "postgresql": a fresh database
    of tests/pg_server.py's server), closed (and dropped) afterwards."""
    if engine == "sqlite":
        db = await Store.open(tmp_path / "dozor.db")
        try:
            yield db
        finally:
            await db.close()
        return
    databases = request.getfixturevalue("pg_databases")
    url = await databases.migrated()
    db = await Store.open(url)
    try:
        yield db
    finally:
        await db.close()
        databases.drop(url)


@pytest.fixture
async def store(tmp_path, request):
    """A migrated store: SQLite, or PostgreSQL when DOZOR_TEST_STORE=postgresql (the whole suite on
    PostgreSQL; the storage suite runs on both anyway, tests/storage/conftest.py)."""
    engine = "postgresql" if os.environ.get("DOZOR_TEST_STORE") == "postgresql" else "sqlite"
    async with engine_store(engine, tmp_path, request) as db:
        yield db


@pytest.fixture(scope="session")
def pg_databases():
    """Fresh PostgreSQL databases (tests/pg_server.py); skips without a server, fails on CI."""
    databases = Databases(require_server())
    yield databases
    databases.drop_all()


@pytest.fixture
async def pg_url(pg_databases):
    """A migrated PostgreSQL database of this test's own, dropped after it."""
    url = await pg_databases.migrated()
    yield url
    pg_databases.drop(url)


@pytest.fixture
def rows(store) -> Rows:
    """Digest-shaped rows written through storage functions (tests.factories.Rows)."""
    return Rows(store)


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """A clean folder to run `dozor` in: no .env, no config, no DOZOR_/TG_ variables, data in tmp,
    the repo's rule file."""
    if not DEFAULT_RULES.is_file():
        pytest.skip("config/rules.toml is not there")
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("DOZOR_", "TG_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("DOZOR_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("DOZOR_RULES", str(DEFAULT_RULES))
    return tmp_path
