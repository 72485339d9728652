"""Views and forwards: kept per post, refreshed by the sweeps for posts younger than 3 days (messages.getMessagesViews
through the offline client), shown in alerts ("👁 12.3k"), ranking the digest's top stories, carried by the export."""
from __future__ import annotations

import asyncio
import csv
import io
from datetime import datetime, timedelta, timezone

from telethon import functions, utils

from bot.delivery.alert_html import format_alert
from bot.digest.build import build_digest
from bot.digest.render import render_html, render_text
from bot.formatting import compact_count
from bot.history.export import alerts_csv
from bot.models import Alert, Match, Subscriber
from bot.pipeline import Pipeline
from bot.storage import access
from bot.storage import channels as db
from bot.storage.digests import load_digest_data
from bot.storage.posts import post_row
from bot.telegram.budget import Budget
from bot.telegram.live import watch_until_stopped
from bot.telegram.watcher import Watcher
from tests.factories import add_outbox_row, add_subscriber, default_rules, make_post
from tests.telegram.offline import OfflineClient, make_channel

CHANNEL = make_channel()
CID = utils.get_peer_id(CHANNEL)
NOW = datetime(2024, 5, 10, 12, 0, tzinfo=timezone.utc)


async def no_sleep(_seconds: float) -> None:
    return None


async def watcher_with_posts(store, client) -> Watcher:
    """A watcher that has stored two posts: one a day old, one five days old (views 100 and 50 then)."""
    client.post(CHANNEL, 1, "старая новость", views=50, forwards=1, date=NOW - timedelta(days=5))
    client.post(CHANNEL, 2, "свежая новость", views=100, forwards=2, date=NOW - timedelta(days=1))
    await db.save_channel(store, CID, username=CHANNEL.username, access_hash=CHANNEL.access_hash)
    watcher = Watcher(client, store, Pipeline(store, default_rules(), clock=lambda: NOW), "dozor",
                      Budget("dozor", sleep=no_sleep, gaps={}), chunk_wait=0, now=lambda: NOW)
    watcher.watch(await db.get_channel(store, CID))
    await watcher.sweep()
    return watcher


def grow(client, message_id: int, views: int, forwards: int) -> None:
    for message in client.history[CID]:
        if message.id == message_id:
            message.views, message.forwards = views, forwards


async def counts(store, message_id: int) -> tuple:
    row = await post_row(store, CID, message_id)
    return row["views"], row["forwards"]


async def test_views_and_forwards_are_stored_with_the_post(store):
    client = OfflineClient(CHANNEL)
    await watcher_with_posts(store, client)
    assert await counts(store, 2) == (100, 2)


async def test_the_sweep_refreshes_posts_younger_than_three_days_only(store):
    client = OfflineClient(CHANNEL)
    watcher = await watcher_with_posts(store, client)
    grow(client, 1, 5000, 10)
    grow(client, 2, 12345, 40)
    assert await watcher.refresh_reach() == 1
    assert await counts(store, 2) == (12345, 40) and await counts(store, 1) == (50, 1)
    [request] = client.sent(functions.messages.GetMessagesViewsRequest)
    assert request.id == [2] and request.increment is False  # asking does not count as a view


async def test_a_deleted_post_keeps_its_last_counts(store):
    client = OfflineClient(CHANNEL)
    watcher = await watcher_with_posts(store, client)
    client.delete(CHANNEL, 2)
    await watcher.refresh_reach()
    assert await counts(store, 2) == (100, 2)


async def test_a_failed_refresh_is_logged_and_changes_nothing(store, caplog):
    from telethon.errors import ChannelPrivateError
    client = OfflineClient(CHANNEL)
    watcher = await watcher_with_posts(store, client)
    client.fail(functions.messages.GetMessagesViewsRequest, ChannelPrivateError(request=None))
    assert await watcher.refresh_reach() == 0
    assert await counts(store, 2) == (100, 2) and "views of @pskovgubernia not refreshed" in caplog.text


async def test_the_live_loop_refreshes_views_every_sweep_interval(store):
    client = OfflineClient(CHANNEL)
    client.online = True
    watcher = await watcher_with_posts(store, client)
    grow(client, 2, 777, 3)
    stop = asyncio.Event()
    ticks = iter(range(10**6))
    loop = asyncio.create_task(watch_until_stopped([watcher], stop, interval=5, tick=0.001,
                                                   clock=lambda: float(next(ticks))))
    for _ in range(200):
        if client.sent(functions.messages.GetMessagesViewsRequest):
            break
        await asyncio.sleep(0.005)
    stop.set()
    await loop
    assert await counts(store, 2) == (777, 3)


def test_counts_read_like_people_write_them():
    assert [compact_count(n) for n in (0, 950, 1000, 12_345, 999_999, 1_200_000, 3_000_000_000)] == \
        ["0", "950", "1k", "12.3k", "1M", "1.2M", "3B"]


def test_an_alert_shows_views_when_known_and_nothing_when_not():
    sub = Subscriber(1, 42)
    known = Alert(0, sub, make_post(text="мобилизация", views=12_345), (Match("mob"),))
    unknown = Alert(0, sub, make_post(text="мобилизация"), (Match("mob"),))
    assert "👁 12.3k" in format_alert(known, NOW, "UTC")
    assert "👁" not in format_alert(unknown, NOW, "UTC")


async def test_the_digest_ranks_top_stories_by_reach_and_shows_it(store, rows):
    day = datetime(2024, 5, 9, 12, 0, tzinfo=timezone.utc)
    await rows.channel(-1001, "small_chan")
    await rows.channel(-1002, "big_chan")
    await rows.channel(-1003, "third_chan")
    await rows.rule("mob", "Мобилизация")
    # a story told by two channels with few views, and one post read by many
    for channel_id in (-1001, -1003):
        post_id = await rows.post(day, "Повестки раздают у проходной завода в Пскове", channel_id=channel_id,
                                  views=300)
        await rows.match(post_id, "mob")
    big = await rows.post(day + timedelta(hours=1), "Отказников отправили в Луганск, пишут родственники",
                          channel_id=-1002, views=48_000, forwards=120)
    await rows.match(big, "mob")
    data = await load_digest_data(store, day - timedelta(hours=12), day + timedelta(hours=12))
    digest = build_digest(data, NOW, "UTC")
    assert [s.reach for s in digest.stories] == [48_000, 600]
    text = render_text(digest)
    assert "Top stories by reach" in text and "👁 48k · ↗ 120" in text and "👁 600" in text
    assert text.index("Отказников") < text.index("Повестки")
    assert "👁 48k" in "\n".join(render_html(digest))


async def test_the_export_carries_views_and_forwards(store):
    sub = await add_subscriber(store, 42)
    client = OfflineClient(CHANNEL)
    await watcher_with_posts(store, client)
    row = await post_row(store, CID, 2)
    await add_outbox_row(store, sub.id, row["id"], NOW, ("mob",), sent=True)
    data = alerts_csv(await access.alerts_for_export(store, sub.id, NOW - timedelta(days=7)))
    header, line = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert header[-2:] == ["views", "forwards"] and line[-2:] == ["100", "2"]
