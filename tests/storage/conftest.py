"""The storage suite runs on both engines: `store` is SQLite, then PostgreSQL (tests/pg_server.py)."""
from __future__ import annotations

import pytest

from tests.conftest import engine_store

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(params=ENGINES)
def engine(request) -> str:
    return request.param


@pytest.fixture
async def store(engine, tmp_path, request):
    async with engine_store(engine, tmp_path, request) as db:
        yield db


def sqlite_only(reason: str):
    """For a test about SQLite itself (WAL, its files, its error types)."""
    return pytest.mark.parametrize("engine", ["sqlite"], ids=[f"sqlite-only:{reason}"])
