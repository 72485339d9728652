"""Shared fixtures: a real SQLite store in a temporary folder, and post factories."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.models import Post
from bot.storage import Store

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
_ids = itertools.count(1000)


def shared_path(*parts: str) -> Path:
    """A path under ../shared, or skip the test with the reason when it is absent."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared is not beside the checkout ({path} missing)")
    return path


def make_post(**overrides) -> Post:
    fields = dict(
        channel_id=-1001000000001,
        message_id=next(_ids),
        text="Обычная новость о погоде в Пскове.",
        date=datetime(2024, 5, 1, 9, 30, tzinfo=timezone.utc),
        channel="pskovgubernia",
        channel_title="Псковская губерния",
    )
    fields.update(overrides)
    if "link" not in overrides and fields.get("channel"):
        fields["link"] = f"https://t.me/{fields['channel']}/{fields['message_id']}"
    return Post(**fields)


@pytest.fixture
async def store(tmp_path):
    db = await Store.open(tmp_path / "dozor.db")
    yield db
    await db.close()
