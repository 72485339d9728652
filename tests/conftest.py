"""Shared fixtures: a real SQLite store in a temporary folder; factories come from foundation_helpers."""
from __future__ import annotations

import pytest

from bot.storage import Store
from tests.factories import SHARED, make_post, shared_file

shared_path = shared_file  # the name the early tests use
__all__ = ["SHARED", "make_post", "shared_path"]


@pytest.fixture
async def store(tmp_path):
    db = await Store.open(tmp_path / "dozor.db")
    yield db
    await db.close()
