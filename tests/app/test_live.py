"""The whole live app on offline Telethon clients: watcher in, bot (or user account) out.

The watcher's client is tests/telegram/offline.py's OfflineClient; the bot is a
TelegramClient(MemorySession(), 1, "0"*32) that never connects and answers
SendMessage/EditMessage itself. Updates go through Telethon's own dispatch;
every request is captured, so each test asserts what Telegram would receive.
"""
from __future__ import annotations

import asyncio
import io
import itertools
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from telethon import TelegramClient, functions, types, utils
from telethon.sessions import MemorySession

from bot.app.live import LiveOptions, build_live_app, run_live_app
from bot.errors import SessionInvalid
from bot.settings import load_settings
from bot.storage import access
from bot.storage import channels as db
from bot.storage.lemma_index import indexed_count
from bot.storage.outbox import count_by_status, outbox_rows
from bot.storage.posts import stored_counts
from bot.storage.subscribers import subscriber_by_chat, subscriber_by_id
from tests.factories import make_post, park_alert
from tests.telegram.offline import SELF_ID, OfflineClient, make_channel, make_message

CHANNEL = make_channel()
CID = utils.get_peer_id(CHANNEL)
READER, ADMIN, BOT_ID = 42, 43, 9000
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
RULES = """
[[rule]]
id = "mob"
title = "Mobilization"
query = "военкомат OR повестка"
"""
MATCHING = "В военкомат вызвали сорок мужчин, повестки разносят по работам"


def users() -> list[types.User]:
    return [types.User(id=READER, access_hash=11, first_name="Reporter"),
            types.User(id=ADMIN, access_hash=12, first_name="Admin")]


class BotClient(TelegramClient):
    """The bot's client, offline: sends and edits are answered and recorded."""

    def __init__(self):
        super().__init__(MemorySession(), 1, "0" * 32)
        self._mb_entity_cache.set_self_user(BOT_ID, True, 0)
        self.session.process_entities(types.contacts.ResolvedPeer(None, [], users()))
        self.requests: list = []
        self._ids = itertools.count(500)
        self.online = True
        self.errors: list[BaseException] = []  # raised in turn by the next requests

    async def __call__(self, request, ordered=False, flood_sleep_threshold=None):
        self.requests.append(request)
        if self.errors:
            raise self.errors.pop(0)
        return answer(request, self._ids)

    def is_connected(self) -> bool:
        return self.online

    async def disconnect(self) -> None:
        self.online = False

    def sent(self, kind: type, chat_id: int | None = None) -> list:
        return [r for r in self.requests if isinstance(r, kind)
                and (chat_id is None or utils.get_peer_id(r.peer) == chat_id)]

    async def command(self, text: str, sender: int = ADMIN) -> None:
        """A private message from `sender` to the bot, through Telethon's dispatch."""
        message = types.Message(id=next(self._ids), peer_id=types.PeerUser(sender), date=NOW, message=text,
                                from_id=types.PeerUser(sender), out=False)
        update = types.UpdateNewMessage(message=message, pts=1, pts_count=1)
        update._entities = {u.id: u for u in users()}
        await self._dispatch_update(update)


class UserClient(OfflineClient):
    """The watcher's client, which also sends alerts when there is no bot token."""

    def __init__(self, *channels):
        super().__init__(*channels)
        self._mb_entity_cache.set_self_user(SELF_ID, False, 1)  # with its hash, as connect() reads from a session

    async def __call__(self, request, ordered=False, flood_sleep_threshold=None):
        if isinstance(request, (functions.messages.SendMessageRequest, functions.messages.EditMessageRequest)):
            self.requests.append(request)
            return answer(request, itertools.count(700))
        return await super().__call__(request, ordered, flood_sleep_threshold)


def answer(request, ids):
    if isinstance(request, functions.messages.SendMessageRequest):
        return types.UpdateShortSentMessage(id=next(ids), pts=1, pts_count=1, date=NOW, out=True)
    if isinstance(request, functions.messages.EditMessageRequest):
        edited = types.Message(id=request.id, peer_id=types.PeerUser(READER), date=NOW, message=request.message)
        return types.Updates([types.UpdateEditMessage(edited, 1, 1)], [], [], NOW, 0)
    raise AssertionError(f"unexpected request {type(request).__name__}")


class Live:
    """A built app, its clients and the means to run and stop it."""

    def __init__(self, tmp_path, store, bot_token: bool = True, dry_run: bool = False, **env):
        rules = tmp_path / "rules.toml"
        rules.write_text(RULES, encoding="utf-8")
        values = {"DOZOR_DATA_DIR": str(tmp_path), "TG_API_ID": "1", "TG_API_HASH": "0" * 32,
                  "DOZOR_RULES": str(rules), "DOZOR_ADMINS": str(ADMIN), "DOZOR_RATE_PER_CHAT": "1000",
                  "DOZOR_TZ": "UTC", **env}
        if bot_token:
            values["TG_BOT_TOKEN"] = "1:x"
        self.settings = load_settings(env=values, env_file=None, config_file=None)
        self.store, self.user, self.bot, self.out = store, UserClient(CHANNEL), BotClient(), io.StringIO()
        self.now = NOW

        async def bot_factory(settings):
            return self.bot

        self.options = LiveOptions(dry_run=dry_run, client_factory=lambda s, name=None: self.user,
                                   bot_factory=bot_factory, clock=lambda: self.now, sleep=no_sleep, tick=0.01,
                                   chunk_wait=0, housekeeping_every=3600, out=self.out)

    async def start(self):
        self.app = await build_live_app(self.settings, self.store, self.options)
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(self.app.run(self.stop))
        await until(lambda: self.user.list_event_handlers() or self.task.done())
        return self

    async def finish(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, 5)


async def no_sleep(seconds: float) -> None:
    return None


async def until(condition, tries: int = 400) -> None:
    for _ in range(tries):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("condition not reached")


async def watched_channel(store, last_seen: int = 10) -> None:
    await db.save_channel(store, CID, username=CHANNEL.username, title=CHANNEL.title, access_hash=CHANNEL.access_hash)
    await db.advance_last_seen(store, CID, last_seen, None)


async def subscribe(store, chat_id: int = READER) -> int:
    return await store.write(lambda c: access.add_subscriber(c, chat_id, "test", NOW))


@pytest.fixture
async def live(tmp_path, store):
    await watched_channel(store)
    await subscribe(store)
    return await Live(tmp_path, store).start()


async def test_a_live_post_reaches_the_subscriber_chat_as_an_html_alert(live):
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER))
    await live.finish()
    [request] = live.bot.sent(functions.messages.SendMessageRequest, READER)
    assert "военкомат" in request.message and "Псковская губерния" in request.message
    kinds = {type(e) for e in request.entities}
    assert types.MessageEntityBold in kinds and types.MessageEntityTextUrl in kinds
    assert request.reply_markup is not None  # feedback buttons under a bot's alert
    assert (await outbox_rows(live.store))[0]["status"] == "sent"


async def test_an_edit_that_drops_the_keywords_edits_the_alert(live):
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER))
    await live.user.push_edit(make_message(CHANNEL, 11, "Погода в Пскове хорошая", edit_date=NOW))
    await until(lambda: live.bot.sent(functions.messages.EditMessageRequest, READER))
    await live.finish()
    [sent] = live.bot.sent(functions.messages.SendMessageRequest, READER)
    [edit] = live.bot.sent(functions.messages.EditMessageRequest, READER)
    assert "no longer matches" in edit.message and edit.id >= 500


async def test_a_deletion_edits_the_alert_and_keeps_the_excerpt(live):
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER))
    await live.user.push_delete(CHANNEL, 11)
    await until(lambda: live.bot.sent(functions.messages.EditMessageRequest, READER))
    await live.finish()
    [edit] = live.bot.sent(functions.messages.EditMessageRequest, READER)
    assert "deleted by the channel" in edit.message and "военкомат" in edit.message


async def test_a_post_found_by_the_catch_up_sweep_is_alerted_as_late(tmp_path, store):
    await watched_channel(store)
    await subscribe(store)
    live = Live(tmp_path, store)
    live.user.post(CHANNEL, 11, MATCHING)  # posted while Dozor was down
    await live.start()
    await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER))
    await live.finish()
    [request] = live.bot.sent(functions.messages.SendMessageRequest, READER)
    assert "late: posted at" in request.message


async def test_a_rule_edited_through_the_bot_changes_what_the_pipeline_matches(live):
    await live.bot.command("/rule edit mob погода")
    await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, ADMIN))
    await live.user.push_new(make_message(CHANNEL, 11, "Погода в Пскове хорошая"))
    await live.user.push_new(make_message(CHANNEL, 12, MATCHING))
    await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER))
    await live.finish()
    [alert] = live.bot.sent(functions.messages.SendMessageRequest, READER)
    assert "Погода" in alert.message
    assert (await stored_counts(live.store))["matches"] == 1


async def test_housekeeping_keeps_the_lemma_index_current(tmp_path, store):
    await watched_channel(store)
    await subscribe(store)
    live = await Live(tmp_path, store).start()
    await live.app.pipeline.on_post(make_post(text="Повестки раздают у метро"))
    await live.app.housekeep_once()
    await live.finish()
    assert await indexed_count(store) == (await stored_counts(store))["posts"]


async def test_tz_command_moves_the_subscribers_digest(tmp_path, store):
    await watched_channel(store)
    sub_id = await subscribe(store)
    live = await Live(tmp_path, store).start()
    before = live.app.scheduler.next_run(sub_id, NOW)
    await live.bot.command("/tz Asia/Vladivostok", sender=READER)
    await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER))
    await live.app.housekeep_once()
    after = live.app.scheduler.next_run(sub_id, NOW)
    await live.finish()
    assert before.astimezone(timezone.utc) == datetime(2024, 5, 2, 6, 0, tzinfo=timezone.utc)  # 09:00 MSK
    assert after.astimezone(timezone.utc) == datetime(2024, 5, 1, 23, 0, tzinfo=timezone.utc)  # 09:00 VLAT


async def test_dry_run_sends_nothing_and_leaves_the_real_chats_alert_pending(tmp_path, store):
    await watched_channel(store)
    await subscribe(store)
    live = await Live(tmp_path, store, dry_run=True).start()
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: "<b>" in live.out.getvalue())
    await live.finish()
    assert live.bot.requests == [] and live.user.sent(functions.messages.SendMessageRequest) == []
    assert '<a href="https://t.me/pskovgubernia/11">post</a>' in live.out.getvalue()
    reader = await subscriber_by_chat(store, READER, active_only=False)
    [status] = [row["status"] for row in await outbox_rows(store, reader.id)]
    assert status == "pending"


async def test_dry_run_prints_a_deletion_as_the_edit_of_the_local_alert(tmp_path, store):
    await watched_channel(store)
    live = await Live(tmp_path, store, dry_run=True).start()
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: "<b>" in live.out.getvalue())
    await live.user.push_delete(CHANNEL, 11)
    await until(lambda: "deleted by the channel" in live.out.getvalue())
    await live.finish()
    assert "--- to chat 0: edit of message 1" in live.out.getvalue()
    assert live.bot.requests == [] and live.user.sent(functions.messages.EditMessageRequest) == []


async def test_operator_warning_and_parked_alert_reach_the_admins_once(tmp_path, store):
    await watched_channel(store)
    await db.warn_once(store, CID, "private", NOW)
    sub_id = await subscribe(store, chat_id=READER)
    row_id = await park_alert(store, await subscriber_by_id(store, sub_id),
                              make_post(channel_id=CID, message_id=5, text="x", date=NOW), "Forbidden: UserIsBlocked")
    live = Live(tmp_path, store)
    live.app = await build_live_app(live.settings, store, live.options)
    await live.app.housekeep_once()
    await live.app.housekeep_once()
    [notice] = live.bot.sent(functions.messages.SendMessageRequest, ADMIN)
    assert "@pskovgubernia" in notice.message and "private" in notice.message
    assert f"alert #{row_id}" in notice.message and "UserIsBlocked" in notice.message


async def test_without_a_bot_token_the_user_account_sends_to_saved_messages(tmp_path, store):
    await watched_channel(store)
    await subscribe(store)
    live = await Live(tmp_path, store, bot_token=False).start()
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: live.user.sent(functions.messages.SendMessageRequest))
    await live.finish()
    [request] = live.user.sent(functions.messages.SendMessageRequest)
    assert isinstance(request.peer, types.InputPeerSelf) and request.reply_markup is None
    rows = [((await subscriber_by_id(store, r["subscriber_id"])).chat_id, r["status"]) for r in await outbox_rows(store)]
    assert live.bot.requests == [] and rows == [(SELF_ID, "sent")]  # READER needs the bot


async def test_without_a_bot_token_a_fresh_database_alerts_the_alert_chat(tmp_path, store):
    await watched_channel(store)  # no subscriber at all
    live = await Live(tmp_path, store, bot_token=False).start()
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: live.user.sent(functions.messages.SendMessageRequest))
    await live.finish()
    [request] = live.user.sent(functions.messages.SendMessageRequest)
    assert isinstance(request.peer, types.InputPeerSelf) and "военкомат" in request.message
    sub = await subscriber_by_chat(store, SELF_ID, active_only=True)
    assert sub.active and await access.list_subscriptions(store, sub.id) == [("all", "")]


async def test_a_changed_alert_chat_takes_over_and_the_old_one_is_retired(tmp_path, store):
    await watched_channel(store)
    first = Live(tmp_path, store, bot_token=False, DOZOR_ALERT_CHAT="@pskovgubernia")
    await build_live_app(first.settings, store, first.options)
    assert (await subscriber_by_chat(store, CID, active_only=True)).kind == "channel"
    second = Live(tmp_path, store, bot_token=False)
    await build_live_app(second.settings, store, second.options)
    assert await subscriber_by_chat(store, CID, active_only=True) is None  # inactive
    assert (await subscriber_by_chat(store, SELF_ID, active_only=True)).active


def test_an_alert_chat_that_cannot_be_found_stops_dozor_with_one_line_naming_the_setting(tmp_path, monkeypatch,
                                                                                         capsys):
    import bot.app.live
    from bot.__main__ import main

    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    import os
    import signal

    client = UserClient(CHANNEL)

    async def connect_with_a_safety_net():  # should Dozor not stop by itself, a SIGTERM ends the run (exit 0)
        asyncio.get_running_loop().call_later(5, os.kill, os.getpid(), signal.SIGTERM)
        client.online = True

    client.connect = connect_with_a_safety_net
    monkeypatch.setattr(bot.app.live, "make_client", lambda settings, name=None: client)
    for name, value in {"DOZOR_DATA_DIR": str(tmp_path), "DOZOR_RULES": str(tmp_path / "rules.toml"),
                        "TG_API_ID": "1", "TG_API_HASH": "0" * 32, "TG_BOT_TOKEN": "",
                        "DOZOR_ALERT_CHAT": "@no_such_chat"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 2
    [line] = [l for l in capsys.readouterr().err.splitlines() if l.startswith("dozor:")]
    assert line.startswith("dozor: DOZOR_ALERT_CHAT='@no_such_chat' cannot be found")
    assert not client.is_connected()


async def test_live_mode_with_no_active_subscriber_says_so_loudly_at_start(tmp_path, store, caplog):
    import logging

    await watched_channel(store)
    live = Live(tmp_path, store)
    with caplog.at_level(logging.WARNING):
        await build_live_app(live.settings, store, live.options)
    assert any(r.levelno == logging.WARNING and "NO ACTIVE SUBSCRIBERS" in r.getMessage() for r in caplog.records)


async def test_stop_disconnects_every_client_and_stops_the_scheduler(live):
    scheduler = live.app.scheduler
    await live.finish()
    assert not live.user.is_connected() and not live.bot.is_connected()
    assert not scheduler._scheduler.running and live.app.tasks == []


async def test_a_session_that_is_not_logged_in_stops_with_session_invalid(tmp_path, store):
    live = Live(tmp_path, store, bot_token=False)
    live.user.authorized = False
    with pytest.raises(SessionInvalid, match="dozor login"):
        await run_live_app(live.settings, asyncio.Event(), live.options)


async def test_a_dead_bot_session_stops_the_app_with_session_invalid(live):
    from telethon.errors import AuthKeyUnregisteredError

    live.bot.errors.append(AuthKeyUnregisteredError(request=None))
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    with pytest.raises(SessionInvalid):
        await asyncio.wait_for(live.task, 5)
    assert not live.user.is_connected()
    assert (await outbox_rows(live.store))[0]["status"] == "pending"  # sent by the next run


async def test_a_watcher_session_not_logged_in_stops_the_app_and_disconnects_the_bot(tmp_path, store):
    live = Live(tmp_path, store)
    live.user.authorized = False
    with pytest.raises(SessionInvalid, match="dozor login"):
        await run_live_app(live.settings, asyncio.Event(), live.options)
    assert not live.bot.is_connected()


def test_replay_dry_run_prints_the_html_a_chat_would_get(tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    replay = tmp_path / "posts.jsonl"
    replay.write_text('{"channel": "pskovgubernia", "id": 7, "text": "%s"}\n' % MATCHING, encoding="utf-8")
    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    for name, value in {"DOZOR_DATA_DIR": str(tmp_path), "DOZOR_RULES": str(tmp_path / "rules.toml"),
                        "TG_API_ID": "", "TG_API_HASH": ""}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert main(["run", "--dry-run", "--replay", str(replay)]) == 0
    out = capsys.readouterr().out
    assert "--- to chat 0: message 1" in out and "<b>военкомат</b>" in out


def test_sigterm_stops_dozor_run_cleanly_with_exit_0(tmp_path, monkeypatch):
    import os
    import signal

    import bot.app.live
    from bot.__main__ import main

    (tmp_path / "rules.toml").write_text(RULES, encoding="utf-8")
    client = UserClient(CHANNEL)

    async def connect_then_get_terminated():  # the live app and the watcher both connect it: signal once
        if not client.online:
            asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
        client.online = True

    client.connect = connect_then_get_terminated
    monkeypatch.setattr(bot.app.live, "make_client", lambda settings, name=None: client)
    for name, value in {"DOZOR_DATA_DIR": str(tmp_path), "DOZOR_RULES": str(tmp_path / "rules.toml"),
                        "TG_API_ID": "1", "TG_API_HASH": "0" * 32, "TG_BOT_TOKEN": ""}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert main(["run"]) == 0
    assert not client.is_connected()


async def test_dry_run_writes_nothing_to_telegram_not_even_a_join(tmp_path, store):
    await watched_channel(store)
    live = await Live(tmp_path, store, dry_run=True, DOZOR_JOIN_CHANNELS="true").start()
    await live.finish()
    assert live.user.sent(functions.channels.JoinChannelRequest) == []
    assert live.user.sent(functions.messages.SendMessageRequest) == []


async def test_an_outbox_task_that_dies_is_restarted_and_alerts_still_go_out(tmp_path, store):
    await watched_channel(store)
    await subscribe(store)
    live = Live(tmp_path, store)
    live.app = await build_live_app(live.settings, store, live.options)
    real_run, deaths = live.app.worker.run, []

    async def dies_once(stop):
        if not deaths:
            deaths.append(1)
            raise RuntimeError("disk read failed")
        await real_run(stop)

    live.app.worker.run = dies_once
    live.stop = asyncio.Event()
    live.task = asyncio.create_task(live.app.run(live.stop))
    await until(lambda: live.user.list_event_handlers())
    await live.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: live.bot.sent(functions.messages.SendMessageRequest, READER))
    await live.finish()
    assert deaths == [1] and live.app.restarts == {"outbox": 1}


async def test_an_outbox_task_that_keeps_dying_stops_the_app_with_a_clear_message(tmp_path, store):
    from bot.errors import DozorError

    await watched_channel(store)
    live = Live(tmp_path, store)
    live.app = await build_live_app(live.settings, store, live.options)

    async def always_dies(stop):
        raise RuntimeError("disk read failed")

    live.app.worker.run = always_dies
    with pytest.raises(DozorError, match="outbox task kept failing .*RuntimeError: disk read failed"):
        await asyncio.wait_for(live.app.run(asyncio.Event()), 5)
    assert not live.user.is_connected() and not live.bot.is_connected()


async def test_a_dry_run_leaves_no_terminal_subscriber_so_a_later_real_run_prints_nothing(tmp_path, store, capsys):
    await watched_channel(store)
    await subscribe(store)
    dry = await Live(tmp_path, store, dry_run=True).start()
    await dry.finish()
    terminal = await subscriber_by_chat(store, 0, active_only=False)
    assert terminal is not None and not terminal.active
    real = await Live(tmp_path, store).start()
    await real.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: real.bot.sent(functions.messages.SendMessageRequest, READER))
    await real.finish()
    assert "военкомат" not in capsys.readouterr().out
    assert await count_by_status(store, kinds=("local",)) == {}


async def test_a_live_run_after_a_replay_does_not_print_alerts_to_the_terminal(tmp_path, store, capsys):
    from bot.storage.subscribers import ensure_local_subscriber

    await watched_channel(store)
    await subscribe(store)
    await ensure_local_subscriber(store, NOW)  # `dozor run` replayed the sample before credentials were set
    real = await Live(tmp_path, store).start()
    await real.user.push_new(make_message(CHANNEL, 11, MATCHING))
    await until(lambda: real.bot.sent(functions.messages.SendMessageRequest, READER))
    await real.finish()
    assert "военкомат" not in capsys.readouterr().out


async def test_with_dozor_web_the_live_run_serves_the_console_and_reloads_saved_rules(tmp_path, store):
    """DOZOR_WEB: one process does everything; a rule saved elsewhere (here: straight to the table, as the
    console's save does) reaches the running pipeline without a restart."""
    from bot.models import RuleDef
    from bot.storage.rules import upsert_rule
    from tests.servers import free_port, wait_until_serving
    port = free_port()
    await watched_channel(store)
    await subscribe(store)
    live = Live(tmp_path, store, DOZOR_WEB=f"127.0.0.1:{port}")
    live.options = replace(live.options, rules_every=0.01)
    await live.start()
    response = await wait_until_serving(f"http://127.0.0.1:{port}/login")
    assert response.status_code == 200
    await store.write(lambda c: upsert_rule(c, RuleDef(id="weather", query="погода"), "web:1"))
    await until(lambda: "weather" in [d.id for d in live.app.pipeline.rules.defs], tries=1000)
    await live.finish()
