"""bot/history/rematch.py: new matches recorded, alerts queued late, never a second alert for a post."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.history.rematch import rematch_posts
from bot.pipeline import Pipeline
from bot.rules import compile_rules
from bot.rules.rulefile import parse_rules_toml
from bot.storage import alert_log
from bot.storage.outbox import load_alert, outbox_rows
from tests.factories import add_subscriber, make_post

BEFORE = compile_rules(parse_rules_toml('[[rule]]\nid = "callups"\nquery = "военкомат"\n', "a.toml"))
AFTER = compile_rules(parse_rules_toml('[[rule]]\nid = "callups"\nquery = "военкомат"\n'
                                       '[[rule]]\nid = "deserters"\nquery = "дезертир"\n', "b.toml"))
NOW = datetime(2024, 5, 20, 12, 0, tzinfo=timezone.utc)


async def test_a_chat_whose_alert_already_shows_the_post_gets_no_second_alert(store):
    post = make_post(text="Дезертир задержан, военкомат молчит")
    await Pipeline(store, BEFORE, clock=lambda: NOW - timedelta(days=5)).on_post(post)  # nobody subscribed yet
    shown, fresh = await add_subscriber(store, 42), await add_subscriber(store, 43)

    async def show(conn):  # chat 42 saw the post grouped into another alert (alert log only, no outbox row)
        alert_id = await alert_log.insert_alert_message(conn, subscriber_id=shown.id, chat_id=42, message_id=7,
                                                        post_id=None, snapshot={}, now=NOW)
        await alert_log.add_alert_post(conn, alert_id, shown.id, post, b"", NOW)

    await store.write(show)
    result = await rematch_posts(store, AFTER, NOW, alert=True)
    assert result.by_rule == {"deserters": 1} and result.alerts == 1
    assert await outbox_rows(store, shown.id) == []
    [row] = await outbox_rows(store, fresh.id)
    alert = await load_alert(store, row)
    assert [m.rule_id for m in alert.matches] == ["deserters"] and alert.post.late


async def test_nothing_new_to_match_changes_nothing(store):
    await Pipeline(store, AFTER, clock=lambda: NOW).on_post(make_post(text="Дезертир задержан"))
    await add_subscriber(store, 42)
    result = await rematch_posts(store, AFTER, NOW, alert=True)
    assert (result.posts, result.matched_posts, result.alerts) == (1, 0, 0)
