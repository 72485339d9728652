"""The disk: full, or the database read-only. A clear StorageError, no half-written post, and
processing resumes once it is writable again.

How each fault is made, and why that way (the tests run as root in CI, and root
ignores file modes, so chmod proves nothing):
- Disk full: tests/storage/faults.py's `fill_disk` caps the file at its current
  size on the store's own connection; SQLite then fails the write with SQLITE_FULL
  ("database or disk is full"), the same error a full filesystem gives, through
  the same Store.write path. `free_disk` is "space freed".
- Read-only while running: its `read_only` makes every write on the store's
  connection fail with SQLITE_READONLY ("attempt to write a readonly
  database"), the error a read-only file or mount gives, again through Store.write.
- Read-only on disk: `chattr +i` (immutable; binds root too) on the database
  file, then `dozor run` in a subprocess: the real open path on a file the OS
  refuses to write. Skipped where chattr is not permitted (no CAP_LINUX_IMMUTABLE).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.errors import StorageError
from bot.models import Post, RuleDef
from bot.delivery.worker import OutboxWorker
from bot.pipeline import Pipeline
from bot.rules import compile_rules
from bot.delivery.local_sinks import JsonlSink
from bot.storage.outbox import outbox_rows
from bot.storage.posts import fulltext_rows, matches_of, post_row, stored_counts, stored_keys
from tests.factories import add_subscriber, default_rules, make_post
from tests.storage.faults import break_outbox_inserts, fill_disk, free_disk, read_only, writable

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
CHANNEL_ID = -1001000000001
BIG = "Повестки раздают у метро, мобилизация идёт. " + "Длинный текст репортажа из района. " * 3000  # ~100 KB


def clock() -> datetime:
    return T0


def post(message_id: int, text: str = BIG) -> Post:
    return Post(channel_id=CHANNEL_ID, message_id=message_id, text=text, date=T0, channel="pskovgubernia",
                channel_title="Псковская губерния", link=f"https://t.me/pskovgubernia/{message_id}")


async def local_subscriber(store) -> None:
    await add_subscriber(store, 0, kind="local", tz="UTC", created=T0)


@pytest.fixture
async def pipeline(store):
    await local_subscriber(store)
    return Pipeline(store, compile_rules([RuleDef(id="mob", query="мобилизация OR повестка")]), clock)


async def traces_of(store, message_id: int, channel_id: int = CHANNEL_ID) -> dict:
    """Rows any part of one post left behind: the post, its matches, its outbox rows, its FTS entry."""
    row = await post_row(store, channel_id, message_id)
    if row is None:
        return {"posts": 0, "matches": 0, "outbox": 0, "fts": 0}
    return {
        "posts": 1,
        "matches": len(await matches_of(store, row["id"])),
        "outbox": len([o for o in await outbox_rows(store) if o["post_id"] == row["id"]]),
        "fts": await fulltext_rows(store, row["id"]),
    }


async def test_full_disk_raises_a_storage_error_that_says_so(store, pipeline):
    await fill_disk(store)
    with pytest.raises(StorageError, match="full"):
        await pipeline.on_post(post(1))


async def test_full_disk_leaves_no_part_of_the_post_behind(store, pipeline):
    await fill_disk(store)
    with pytest.raises(StorageError):
        await pipeline.on_post(post(1))
    assert await traces_of(store, 1) == {"posts": 0, "matches": 0, "outbox": 0, "fts": 0}


async def test_a_batch_on_a_full_disk_is_stored_whole_or_not_at_all(store, pipeline):
    await pipeline.on_post(post(1, "разогрев"))
    await fill_disk(store)
    small = [post(10 + i, f"мобилизация {i}") for i in range(5)]
    with pytest.raises(StorageError):
        await pipeline.on_posts(small + [post(99)])
    assert await stored_keys(store, small + [post(99)]) == set()


async def test_the_same_post_is_stored_and_alerted_once_the_disk_has_room(store, pipeline, tmp_path):
    await fill_disk(store)
    with pytest.raises(StorageError):
        await pipeline.on_post(post(1))
    await free_disk(store)
    assert await pipeline.on_post(post(1)) is True
    assert await traces_of(store, 1) == {"posts": 1, "matches": 1, "outbox": 1, "fts": 1}
    sink = JsonlSink(tmp_path / "alerts.jsonl")
    try:
        assert await OutboxWorker(store, lambda _s: sink, clock).run_until_idle() == 1
    finally:
        sink.close()


async def test_read_only_database_raises_a_storage_error_that_says_so(store, pipeline):
    await read_only(store)
    with pytest.raises(StorageError, match="readonly"):
        await pipeline.on_post(post(1, "мобилизация"))


async def test_read_only_database_leaves_no_part_of_the_post_behind_and_resumes(store, pipeline):
    await read_only(store)
    with pytest.raises(StorageError):
        await pipeline.on_post(post(1, "мобилизация"))
    assert await traces_of(store, 1) == {"posts": 0, "matches": 0, "outbox": 0, "fts": 0}
    await writable(store)
    assert await pipeline.on_post(post(1, "мобилизация")) is True
    assert await traces_of(store, 1) == {"posts": 1, "matches": 1, "outbox": 1, "fts": 1}


async def test_delivery_on_a_full_disk_keeps_the_row_pending_then_sends_it(store, pipeline, tmp_path):
    await pipeline.on_post(post(1, "мобилизация"))
    sink = JsonlSink(tmp_path / "alerts.jsonl")
    worker = OutboxWorker(store, lambda _s: sink, clock)
    try:
        await read_only(store)
        with pytest.raises(StorageError):
            await worker.run_until_idle()  # the alert went out; "sent" could not be recorded
        await writable(store)
        assert (await outbox_rows(store))[0]["status"] == "pending"
        assert await worker.run_until_idle() == 1  # at least once: delivered again, then marked
    finally:
        sink.close()
    assert (await outbox_rows(store))[0]["status"] == "sent"




async def test_watcher_sweeps_up_a_live_post_it_could_not_store_on_a_full_disk(store, pipeline):
    pytest.importorskip("telethon")
    from telethon import utils

    from bot.storage import channels as db
    from bot.telegram.budget import Budget
    from bot.telegram.watcher import Watcher

    from tests.telegram import offline
    channel = offline.make_channel()
    cid = utils.get_peer_id(channel)
    client = offline.OfflineClient(channel)
    await db.save_channel(store, cid, username=channel.username, title=channel.title,
                          access_hash=channel.access_hash)
    await db.advance_last_seen(store, cid, 9, None)

    async def no_sleep(_seconds: float) -> None:
        return None

    budget = Budget("dozor", sleep=no_sleep, clock=lambda: 0.0, gaps={})
    watcher = Watcher(client, store, pipeline, "dozor", budget, chunk_wait=0)
    watcher.watch(await db.get_channel(store, cid))
    watcher.register()
    await fill_disk(store)
    await client.push_new(offline.make_message(channel, 10, BIG))  # Telethon logs the handler's error
    assert (await traces_of(store, 10, cid))["posts"] == 0
    assert (await db.get_channel(store, cid)).last_seen_id == 9
    await free_disk(store)
    await watcher.sweep()
    assert await traces_of(store, 10, cid) == {"posts": 1, "matches": 1, "outbox": 1, "fts": 1}


def _immutable(paths: list[Path], on: bool) -> bool:
    flag = "+i" if on else "-i"
    done = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True)
    return done.returncode == 0


def test_dozor_run_on_an_immutable_database_fails_in_one_line_then_runs_once_writable(tmp_path):
    if shutil.which("chattr") is None:
        pytest.skip("chattr is not installed")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOZOR_", "TG_"))}
    env.update(DOZOR_DATA_DIR=str(tmp_path / "data"), DOZOR_RULES=str(REPO / "config" / "rules.toml"),
               DOZOR_LOG_LEVEL="WARNING")
    alerts = tmp_path / "alerts.jsonl"
    cmd = [sys.executable, "-m", "bot", "run", "--alerts-to", str(alerts)]
    first = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    db = tmp_path / "data" / "dozor.db"
    (tmp_path / "more.jsonl").write_text('{"channel": "x", "id": 1, "text": "Повестки раздают у метро"}\n',
                                         encoding="utf-8")
    cmd = [sys.executable, "-m", "bot", "run", "--replay", str(tmp_path / "more.jsonl"), "--alerts-to", str(alerts)]
    if not _immutable([db], True):
        pytest.skip("chattr +i is not permitted here (no CAP_LINUX_IMMUTABLE)")
    try:
        refused = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    finally:
        _immutable([db], False)
    lines = [line for line in refused.stderr.splitlines() if line.startswith("dozor:")]
    assert refused.returncode == 2
    assert len(lines) == 1 and "readonly" in lines[0] and str(db.name) in lines[0]
    again = subprocess.run(cmd, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert "1 new, 1 matched, 1 alert" in again.stdout


async def test_post_matches_and_outbox_rows_commit_together_or_not_at_all(store):
    """An outbox insert that fails (a trigger stands in for the fault) leaves no post and no match."""
    await add_subscriber(store, 1, created=T0)
    await break_outbox_inserts(store)
    with pytest.raises(StorageError):
        await Pipeline(store, default_rules(), clock=lambda: T0).on_post(make_post(text="мобилизация"))
    assert (await stored_counts(store))["posts"] == 0
    assert (await stored_counts(store))["matches"] == 0
