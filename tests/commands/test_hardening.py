"""Fixes from the security review (issue 13): each test names what it guarantees."""
from datetime import datetime, timezone

import pytest

from bot.commands import dispatch, dispatch_callback
from bot.commands.roles import ACCESS_MESSAGE, Role, user_role
from bot.commands.router import PRIVATE_ONLY, STALE_BUTTON
from bot.commands.throttle import CommandThrottle
from bot.storage import access
from bot.storage.audit import audit_entries
from bot.storage.rules import get_rule
from bot.storage.subscribers import subscriber_by_chat
from tests.commands.cmd_helpers import ADMIN, GROUP, OPERATOR, STRANGER, SUBSCRIBER, NOW
from tests.factories import add_outbox_row, add_posts, add_rule, make_post

HUGE = "1" * 20  # over 64 bits


# ---- item 15: commands addressed to another bot -------------------------------------

async def test_command_addressed_to_another_bot_is_not_executed(store, make_ctx, people):
    await add_rule(store, "r1", "мобилизация")
    reply = await dispatch(make_ctx(OPERATOR, bot_username="DozorBot"), "/rule@OtherBot del r1")
    assert reply is None and await get_rule(store, "r1") is not None


async def test_command_addressed_to_this_bot_runs(store, make_ctx, people):
    await add_rule(store, "r1", "мобилизация")
    reply = await dispatch(make_ctx(OPERATOR, bot_username="DozorBot"), "/rule@dozorbot del r1")
    assert "deleted" in reply.html and await get_rule(store, "r1") is None


async def test_addressed_command_is_ignored_while_the_bots_own_name_is_unknown(store, make_ctx, people):
    await add_rule(store, "r1", "мобилизация")
    assert await dispatch(make_ctx(OPERATOR), "/rule@OtherBot del r1") is None
    assert await get_rule(store, "r1") is not None


# ---- item 14: input that used to raise past the router ------------------------------

@pytest.mark.parametrize("text, usage", [
    ("/digest 0001-01-01", "/digest"),
    (f"/role {HUGE} subscriber", "/role"),
    (f"/approve {HUGE}", "/approve"),
    (f"/deny -{HUGE}", "/deny"),
    (f"/channel pause {HUGE}", "/channel"),
])
async def test_out_of_range_dates_and_ids_get_the_usage_line(make_ctx, people, text, usage):
    reply = await dispatch(make_ctx(ADMIN), text)
    assert "Write: " + usage in reply.html


@pytest.mark.parametrize("data", [f"fb:+:{HUGE}:r1", f"fb:-:{HUGE}:*", f"ap:{HUGE}", f"dn:-{HUGE}", f"sp:{HUGE}"])
async def test_buttons_with_ids_over_64_bits_are_stale(make_ctx, people, data):
    reply = await dispatch_callback(make_ctx(ADMIN), data)
    assert reply.html == STALE_BUTTON


# ---- item 9: forged feedback buttons -------------------------------------------------

async def _alert(store, rules=("a",)):
    [post_id] = await add_posts(store, [make_post()])
    sub = await subscriber_by_chat(store, SUBSCRIBER, active_only=True)
    await add_outbox_row(store, sub.id, post_id, datetime(2024, 5, 9, 10, 0, tzinfo=timezone.utc), rules)
    return post_id


async def test_feedback_for_a_post_never_sent_to_the_chat_counts_for_nothing(store, make_ctx, people):
    [other_post] = await add_posts(store, [make_post(message_id=777, text="другой")])
    reply = await dispatch_callback(make_ctx(), f"fb:-:{other_post}:a")
    assert "not in this chat's history" in reply.html
    assert await access.rule_precision(store) == {}


async def test_feedback_for_a_rule_the_alert_did_not_have_counts_for_nothing(store, make_ctx, people):
    post_id = await _alert(store, ("a",))
    reply = await dispatch_callback(make_ctx(), f"fb:-:{post_id}:other_rule")
    assert "not in this chat's history" in reply.html
    assert await access.rule_precision(store) == {}


async def test_feedback_for_the_alerts_own_rule_counts(store, make_ctx, people):
    post_id = await _alert(store, ("a", "b"))
    await dispatch_callback(make_ctx(), f"fb:+:{post_id}:b")
    assert await access.rule_precision(store) == {"b": (1, 1)}


# ---- item 10: groups ------------------------------------------------------------------

async def test_operator_in_an_unsubscribed_group_gets_nothing_but_the_access_message(store, make_ctx, people):
    await add_rule(store, "r1", "секретный запрос")
    for text in ("/rules", "/search мобилизация", "/help"):
        reply = await dispatch(make_ctx(OPERATOR, chat_id=GROUP), text)
        assert reply.html == ACCESS_MESSAGE


async def test_admin_commands_in_a_group_are_refused_even_for_the_admin(store, make_ctx, people):
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group"))
    before = len(await audit_entries(store))
    for text in ("/invite operator", "/rules", "/audit", "/role 5 operator", "/rule add x y"):
        reply = await dispatch(make_ctx(ADMIN, chat_id=GROUP, is_chat_admin=True), text)
        assert reply.html == PRIVATE_ONLY
    assert len(await audit_entries(store)) == before


async def test_subscribed_group_still_answers_subscriber_commands(store, make_ctx, people):
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group"))
    reply = await dispatch(make_ctx(STRANGER, chat_id=GROUP), "/help")
    assert "/search" in reply.html


async def test_access_decision_buttons_work_only_in_private_chats(store, make_ctx, people):
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group"))
    await store.write(lambda c: access.request_access(c, 555, "Someone", NOW))
    reply = await dispatch_callback(make_ctx(ADMIN, chat_id=GROUP, is_chat_admin=True), "ap:555")
    assert reply.html == PRIVATE_ONLY
    assert await subscriber_by_chat(store, 555, active_only=True) is None


# ---- item 11: anonymous group admins --------------------------------------------------

async def test_anonymous_group_admin_never_inherits_the_groups_role(store, make_ctx, people):
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group", role="operator"))
    ctx = make_ctx(GROUP, chat_id=GROUP, is_chat_admin=True)
    assert await user_role(ctx) == Role.STRANGER
    reply = await dispatch(make_ctx(GROUP, chat_id=GROUP), "/rule add x мобилизация")
    assert reply.html == PRIVATE_ONLY


async def test_negative_sender_in_a_private_chat_is_a_stranger(store, make_ctx, people):
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group", role="operator"))
    ctx = make_ctx(GROUP, chat_id=GROUP, chat_kind="user", is_chat_admin=True)
    assert await user_role(ctx) == Role.STRANGER
    assert (await dispatch(ctx, "/rules")).html == ACCESS_MESSAGE


# ---- item 5: command rate limits -------------------------------------------------------

async def test_flooding_commands_is_answered_once_then_silently_dropped(make_ctx, people):
    throttle = CommandThrottle(per_user=3, per_chat=100, window=60)
    replies = [await dispatch(make_ctx(throttle=throttle), "/help") for _ in range(6)]
    assert all(r is not None and "/search" in r.html for r in replies[:3])
    assert "Slow down: try again in 60 s" in replies[3].html
    assert replies[4] is None and replies[5] is None


async def test_flooding_buttons_is_throttled_too(make_ctx, people):
    throttle = CommandThrottle(per_user=1, per_chat=100, window=60)
    await dispatch_callback(make_ctx(throttle=throttle), "sp:2")
    assert "Slow down" in (await dispatch_callback(make_ctx(throttle=throttle), "sp:2")).html
    assert await dispatch_callback(make_ctx(throttle=throttle), "sp:2") is None
