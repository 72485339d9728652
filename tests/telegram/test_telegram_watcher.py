"""The watcher on the real Telethon code: hand-built updates through `_dispatch_update`."""
from __future__ import annotations

from datetime import datetime, timezone

from telethon import errors, functions, utils

from bot.models import Post
from bot.storage import channels as db
from bot.storage.posts import insert_post
from bot.telegram.budget import Budget
from bot.telegram.watcher import Watcher
from tests.telegram.offline import OfflineClient, RecordingPipeline, forward_from, make_channel, make_message, photo

CHANNEL = make_channel()
CID = utils.get_peer_id(CHANNEL)


class NoSleep:
    """An injected sleep that only moves its own clock forward."""

    def __init__(self):
        self.slept: list[float] = []
        self.now = 1000.0

    async def __call__(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


async def make_watcher(store, client=None, pipeline=None, last_seen=0, sleep=None, **options):
    client = client or OfflineClient(CHANNEL)
    pipeline = pipeline or RecordingPipeline()
    await db.save_channel(store, CID, username=CHANNEL.username, title=CHANNEL.title,
                          access_hash=CHANNEL.access_hash)
    if last_seen:
        await db.advance_last_seen(store, CID, last_seen, None)
    sleep = sleep or NoSleep()
    budget = Budget("dozor", sleep=sleep, clock=sleep.clock, gaps={})
    watcher = Watcher(client, store, pipeline, "dozor", budget, chunk_wait=0, **options)
    watcher.watch(await db.get_channel(store, CID))
    watcher.register()
    return watcher, client, pipeline


async def test_live_post_becomes_a_post_with_link_views_and_plain_text(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    await client.push_new(make_message(CHANNEL, 10, "Повестки **раздают** у метро", views=1200, forwards=3))
    [post] = pipeline.posts
    assert (post.channel_id, post.message_id, post.text) == (CID, 10, "Повестки **раздают** у метро")
    assert post.link == "https://t.me/pskovgubernia/10"
    assert (post.views, post.forwards, post.late, post.channel) == (1200, 3, False, "pskovgubernia")
    assert pipeline.alerted == [post]


async def test_live_post_advances_last_seen_id(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    await client.push_new(make_message(CHANNEL, 10, "новость"))
    assert (await db.get_channel(store, CID)).last_seen_id == 10


async def test_edit_that_adds_a_keyword_reaches_on_edit_with_the_new_text(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    await client.push_new(make_message(CHANNEL, 10, "Сбор у военкомата"))
    await client.push_edit(make_message(CHANNEL, 10, "Сбор у военкомата: раздают повестки", edit_date=make_message(CHANNEL, 11).date))
    [edited] = pipeline.edits
    assert (edited.message_id, edited.text) == (10, "Сбор у военкомата: раздают повестки")
    assert edited.edit_date is not None


async def test_deletion_in_a_channel_reaches_on_delete_with_channel_and_ids(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    await client.push_delete(CHANNEL, 7, 8)
    [deletion] = pipeline.deletions
    assert (deletion.channel_id, deletion.message_ids) == (CID, (7, 8))


async def test_album_becomes_one_post_with_the_caption(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    for msg_id, caption in ((10, "Фото с призывного пункта"), (11, ""), (12, "")):
        await client.push_new(make_message(CHANNEL, msg_id, caption, media=photo(), grouped_id=42))
    await watcher.flush_albums()
    [post] = pipeline.posts
    assert (post.message_id, post.text, post.has_media, post.grouped_id) == (10, "Фото с призывного пункта", True, 42)
    assert (await db.get_channel(store, CID)).last_seen_id == 12


async def test_forward_keeps_the_channel_it_came_from(store):
    source = make_channel(bare_id=999000, username="source", access_hash=1)
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    await client.push_new(make_message(CHANNEL, 10, "репост", fwd_from=forward_from(source, 77)))
    [post] = pipeline.posts
    assert (post.fwd_from_channel_id, post.fwd_from_message_id) == (utils.get_peer_id(source), 77)


async def test_post_in_a_channel_not_watched_is_ignored(store):
    other = make_channel(bare_id=4242, username="other", access_hash=2)
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    client.channels[utils.get_peer_id(other)] = other
    await client.push_new(make_message(other, 10, "не наш канал"))
    assert pipeline.posts == [] and client.requests == []


async def test_gap_between_live_updates_is_filled_by_a_sweep(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    client.post(CHANNEL, 11, "пропущено 11")
    client.post(CHANNEL, 12, "пропущено 12")
    await client.push_new(make_message(CHANNEL, 10, "десятый"))
    await client.push_new(make_message(CHANNEL, 13, "тринадцатый"))
    assert pipeline.ids() == [10, 13, 11, 12]  # the live post first; the gap sweep is extra
    assert [p.late for p in pipeline.posts] == [False, False, True, True]
    assert len(client.sent(functions.messages.GetHistoryRequest)) == 1


async def test_restart_sweeps_from_the_persisted_last_seen_id(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    await client.push_new(make_message(CHANNEL, 10, "до остановки"))
    for msg_id in (11, 12):
        client.post(CHANNEL, msg_id, f"пока лежали {msg_id}")
    again, client2, pipeline2 = await make_watcher(store, client=client, pipeline=RecordingPipeline())
    assert await again.sweep() == 2
    assert pipeline2.ids() == [11, 12] and all(p.late for p in pipeline2.posts)
    assert (await db.get_channel(store, CID)).last_seen_id == 12


async def test_flood_wait_in_the_middle_of_a_sweep_waits_then_loses_nothing(store):
    sleep = NoSleep()
    watcher, client, pipeline = await make_watcher(store, last_seen=100, sleep=sleep)
    for msg_id in range(101, 351):  # three history pages of 100
        client.post(CHANNEL, msg_id, f"пост {msg_id}")
    client.fail_on_call(functions.messages.GetHistoryRequest, 2, errors.FloodWaitError(request=None, capture=42))
    assert await watcher.sweep() == 250
    assert pipeline.ids() == list(range(101, 351))
    assert sleep.slept == [42]
    assert (await db.get_channel(store, CID)).last_seen_id == 350


async def test_first_sweep_seeds_last_posts_without_alerts(store):
    watcher, client, pipeline = await make_watcher(store, backfill_limit=3)
    for msg_id in range(1, 8):
        client.post(CHANNEL, msg_id, f"старое {msg_id}")
    await watcher.sweep()
    assert pipeline.ids() == [5, 6, 7] and pipeline.alerted == []
    assert (await db.get_channel(store, CID)).last_seen_id == 7


async def test_first_sweep_alerts_when_asked_to(store):
    watcher, client, pipeline = await make_watcher(store, backfill_limit=2, alert_backfill=True)
    for msg_id in range(1, 4):
        client.post(CHANNEL, msg_id, f"старое {msg_id}")
    await watcher.sweep()
    assert [p.message_id for p in pipeline.alerted] == [2, 3]


async def test_channel_without_username_gets_a_private_link(store):
    private = make_channel(bare_id=1777000111, username=None, title="Закрытый", access_hash=9)
    pid = utils.get_peer_id(private)
    client, pipeline = OfflineClient(private), RecordingPipeline()
    await db.save_channel(store, pid, title="Закрытый", access_hash=9)
    await db.advance_last_seen(store, pid, 4, None)
    watcher = Watcher(client, store, pipeline, "dozor", Budget("dozor", sleep=NoSleep(), gaps={}), chunk_wait=0)
    watcher.watch(await db.get_channel(store, pid))
    watcher.register()
    await client.push_new(make_message(private, 5, "пост"))
    assert pipeline.posts[0].link == "https://t.me/c/1777000111/5"


async def test_channel_turned_private_is_unwatched_and_warned_once(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    client.fail(functions.messages.GetHistoryRequest, errors.ChannelPrivateError(request=None))
    await watcher.sweep()
    await watcher.sweep()
    row = await db.get_channel(store, CID)
    assert (row.status, row.warning) == ("private", "private")
    assert [w.kind for w in await db.pending_warnings(store)] == ["private"]
    assert CID not in watcher.channels


async def test_failing_pipeline_does_not_advance_last_seen(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    pipeline.fail_next = RuntimeError("database locked")
    await client.push_new(make_message(CHANNEL, 10, "пост"))
    assert (await db.get_channel(store, CID)).last_seen_id == 9
    await watcher.sweep()
    assert pipeline.ids() == [10]


async def test_sweep_turns_an_album_into_one_late_post(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    client.post(CHANNEL, 10, "Колонна техники", media=photo(), grouped_id=7)
    client.post(CHANNEL, 11, "", media=photo(), grouped_id=7)
    client.post(CHANNEL, 12, "Отдельный пост")
    await watcher.sweep()
    assert [(p.message_id, p.text, p.late) for p in pipeline.posts] == [
        (10, "Колонна техники", True), (12, "Отдельный пост", True)]
    assert (await db.get_channel(store, CID)).last_seen_id == 12


async def test_caption_edit_on_a_later_album_item_goes_to_the_stored_album(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    at = datetime(2024, 5, 1, 9, 10, tzinfo=timezone.utc)
    album = Post(channel_id=CID, message_id=10, text="", date=at, grouped_id=7)
    await store.write(lambda conn: insert_post(conn, album, at))
    await client.push_edit(make_message(CHANNEL, 11, "подпись добавили", media=photo(), grouped_id=7))
    [edit] = pipeline.edits
    assert (edit.message_id, edit.link) == (10, "https://t.me/pskovgubernia/10")


async def test_gap_during_a_flood_wait_is_filled_by_the_next_sweep_not_skipped(store):
    sleep = NoSleep()
    watcher, client, pipeline = await make_watcher(store, last_seen=10, sleep=sleep)
    watcher.budget.block(600, "test")
    client.post(CHANNEL, 11, "пропущено")
    await client.push_new(make_message(CHANNEL, 12, "живой"))
    assert pipeline.ids() == [12] and client.sent(functions.messages.GetHistoryRequest) == []
    assert (await db.get_channel(store, CID)).last_seen_id == 10
    await watcher.sweep()  # after the wait
    assert pipeline.ids() == [12, 11] and sleep.slept == [600]
    assert (await db.get_channel(store, CID)).last_seen_id == 12


async def test_after_stop_new_updates_are_left_for_the_next_start(store):
    watcher, client, pipeline = await make_watcher(store, last_seen=9)
    await client.push_new(make_message(CHANNEL, 10, "альбом", media=photo(), grouped_id=5))
    await watcher.stop()
    await client.push_new(make_message(CHANNEL, 11, "после остановки"))
    assert pipeline.ids() == [10]  # the waiting album was handed over, the late update was not
    assert (await db.get_channel(store, CID)).last_seen_id == 10
