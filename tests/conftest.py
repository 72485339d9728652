"""Shared fixtures: a real SQLite store in a temporary folder, digest rows, a fake sender (factories: tests/factories.py)."""
from __future__ import annotations

import pytest

from bot.storage import Store
from tests.factories import SHARED, Rows, make_post, shared_file
from tests.fakes import FakeSender

shared_path = shared_file  # the name the early tests use
__all__ = ["SHARED", "make_post", "shared_path"]


@pytest.fixture
async def store(tmp_path):
    db = await Store.open(tmp_path / "dozor.db")
    yield db
    await db.close()


@pytest.fixture
def rows(store) -> Rows:
    """Digest-shaped rows written through storage functions (tests.factories.Rows)."""
    return Rows(store)


@pytest.fixture
def sender() -> FakeSender:
    return FakeSender()
