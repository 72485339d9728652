"""The storage suite runs on both engines: `store` is SQLite, then PostgreSQL (tests/pg_server.py)."""
from __future__ import annotations

import pytest

from bot.storage import Store

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
async def store(engine, tmp_path, request):
    if engine == "sqlite":
        db = await Store.open(tmp_path / "dozor.db")
        yield db
        await db.close()
        return
    databases = request.getfixturevalue("pg_databases")
    url = await databases.migrated()
    db = await Store.open(url)
    yield db
    await db.close()
    databases.drop(url)


def sqlite_only(reason: str):
    """For a test about SQLite itself (WAL, its files, its error types)."""
    return pytest.mark.parametrize("engine", ["sqlite"], ids=[f"sqlite-only:{reason}"])
