"""Operator commands: rules validated before they are written, audited, reloaded live."""
import json
from datetime import datetime, timezone

from bot.commands import dispatch
from bot.storage import access
from bot.storage import channels as db
from bot.storage.rules import get_rule, load_rule_defs
from bot.storage.subscribers import subscriber_by_chat
from bot.storage.audit import audit_entries
from tests.commands.cmd_helpers import NOW, OPERATOR, SUBSCRIBER
from tests.factories import add_posts, add_rule, make_post


def reloads():
    calls = []

    async def on_rules_changed():
        calls.append(1)

    return calls, on_rules_changed


async def test_rule_add_writes_audits_and_reloads(store, make_ctx, people):
    calls, hook = reloads()
    reply = await dispatch(make_ctx(OPERATOR, on_rules_changed=hook), "/rule add vdv отказ* AND вдв")
    assert "Added and live" in reply.html and "<code>отказ* AND вдв</code>" in reply.html
    assert (await get_rule(store, "vdv")).query == "отказ* AND вдв" and calls == [1]
    row = (await audit_entries(store, action="rule.add"))[0]
    assert row["actor"] == f"tg:{OPERATOR}" and row["before"] is None and json.loads(row["after"])["id"] == "vdv"


async def test_rule_with_a_syntax_error_answers_with_caret_and_changes_nothing(store, make_ctx, people):
    await add_rule(store, "vdv", "вдв")
    calls, hook = reloads()
    reply = await dispatch(make_ctx(OPERATOR, on_rules_changed=hook), "/rule edit vdv (отказ AND вдв")
    assert "column" in reply.html and "<pre>" in reply.html and "^" in reply.html
    assert (await get_rule(store, "vdv")).query == "вдв" and calls == []
    assert len(await audit_entries(store, action="rule.edit")) == 0


async def test_rule_edit_keeps_the_other_fields_and_audits_before_and_after(store, make_ctx, people):
    await add_rule(store, "vdv", "вдв", tags=("army",), title="ВДВ")
    await dispatch(make_ctx(OPERATOR), "/rule edit vdv вдв OR десант")
    rule = await get_rule(store, "vdv")
    assert rule.query == "вдв OR десант" and rule.tags == ("army",) and rule.title == "ВДВ"
    row = (await audit_entries(store, action="rule.edit"))[0]
    assert json.loads(row["before"])["query"] == "вдв" and json.loads(row["after"])["query"] == "вдв OR десант"


async def test_rule_add_of_an_existing_id_is_refused(store, make_ctx, people):
    await add_rule(store, "vdv", "вдв")
    assert "exists already" in (await dispatch(make_ctx(OPERATOR), "/rule add vdv десант")).html


async def test_rule_off_and_on(store, make_ctx, people):
    await add_rule(store, "vdv", "вдв")
    assert "now off" in (await dispatch(make_ctx(OPERATOR), "/rule off vdv")).html
    assert not (await get_rule(store, "vdv")).enabled
    assert "off already" in (await dispatch(make_ctx(OPERATOR), "/rule off vdv")).html


async def test_rule_del_removes_and_audits(store, make_ctx, people):
    await add_rule(store, "vdv", "вдв")
    assert "deleted" in (await dispatch(make_ctx(OPERATOR), "/rule del vdv")).html
    assert await load_rule_defs(store) == []
    assert len(await audit_entries(store, action="rule.del")) == 1


async def test_rule_show_of_a_missing_rule(store, make_ctx, people):
    assert "There is no rule" in (await dispatch(make_ctx(OPERATOR), "/rule show nope")).html


async def test_rules_lists_escaped_queries(store, make_ctx, people):
    await add_rule(store, "tag", "#отказники_вдв")
    await add_rule(store, "near", "отказ NEAR/3 служить")
    reply = await dispatch(make_ctx(OPERATOR), "/rules")
    assert "2 rules" in reply.html and "NEAR/3" in reply.html


async def test_rule_test_highlights_the_matched_words(store, make_ctx, people):
    await add_rule(store, "mobilization", "мобилизация")
    reply = await dispatch(make_ctx(OPERATOR), "/rule test mobilization В Пскове <объявили> мобилизацию")
    assert "<b>match</b>" in reply.html and "<b>мобилизацию</b>" in reply.html
    assert "&lt;объявили&gt;" in reply.html


async def test_rule_test_with_a_query_reports_no_match(store, make_ctx, people):
    reply = await dispatch(make_ctx(OPERATOR), "/rule test мобилизация\nПогода в Пскове")
    assert "no match" in reply.html


async def test_stats_shows_precision_per_rule_from_feedback(store, make_ctx, people):
    post_ids = await add_posts(store, [make_post(), make_post(), make_post()])
    sub = await subscriber_by_chat(store, SUBSCRIBER, active_only=True)
    for post_id, relevant in zip(post_ids, (True, True, False)):
        await store.write(lambda c, p=post_id, r=relevant: access.record_feedback(c, sub.id, p, "vdv", r, NOW))
    reply = await dispatch(make_ctx(OPERATOR), "/stats")
    assert "vdv: 67% (2 of 3 relevant)" in reply.html
    assert "posts read: 3" in reply.html and "queue: 0, parked: 0" in reply.html


async def test_stats_names_silent_channels(store, make_ctx, people):
    post = make_post()
    await add_posts(store, [post])
    await db.advance_last_seen(store, post.channel_id, post.message_id, datetime(2024, 5, 1, tzinfo=timezone.utc))
    reply = await dispatch(make_ctx(OPERATOR), "/stats")
    assert "Silent for 24h" in reply.html and "@pskovgubernia" in reply.html


async def test_channel_add_queues_the_name_and_channels_lists_it(store, make_ctx, people):
    reply = await dispatch(make_ctx(OPERATOR), "/channel add @pskov_news")
    assert "will be resolved" in reply.html
    assert "@pskov_news" in (await dispatch(make_ctx(OPERATOR), "/channels")).html


async def test_channel_pause_and_del(store, make_ctx, people):
    await add_posts(store, [make_post()])
    assert "now paused" in (await dispatch(make_ctx(OPERATOR), "/channel pause @pskovgubernia")).html
    assert "no longer watched" in (await dispatch(make_ctx(OPERATOR), "/channel del pskovgubernia")).html
    actions = [r["action"] for r in await audit_entries(store, object_kind="channel")]
    assert actions == ["channel.status", "channel.remove"]


async def test_channel_pause_of_an_unknown_channel(store, make_ctx, people):
    assert "No channel" in (await dispatch(make_ctx(OPERATOR), "/channel pause @nobody_here")).html


async def test_long_answers_stay_under_telegrams_limit(store, make_ctx, people):
    for n in range(60):
        await add_rule(store, f"r{n}", " OR ".join(["мобилизация"] * 80))
    assert len((await dispatch(make_ctx(OPERATOR), "/rules")).html) < 4096
    await add_rule(store, "amp", "мобилизация")
    reply = await dispatch(make_ctx(OPERATOR), "/rule test amp мобилизация " + "&" * 3400)
    assert "<b>match</b>" in reply.html and len(reply.html) < 4096


async def test_stats_counts_active_subscribers_and_warns_loudly_when_there_are_none(store, make_ctx, people):
    from tests.commands.cmd_helpers import ADMIN

    assert "subscribers active: 2" in (await dispatch(make_ctx(OPERATOR), "/stats")).html
    for chat in (OPERATOR, SUBSCRIBER):
        await store.write(lambda c, chat=chat: access.remove_subscriber(c, chat, "test", NOW))
    reply = await dispatch(make_ctx(ADMIN), "/stats")
    assert "subscribers active: 0" in reply.html and "nobody is alerted" in reply.html


async def test_rule_true_through_not_alone_is_refused_and_nothing_is_written(store, make_ctx, people):
    reply = await dispatch(make_ctx(OPERATOR), "/rule add wide NOT погода")
    assert "none of its words" in reply.html and await get_rule(store, "wide") is None


async def test_rule_with_a_lower_case_near_gets_the_capitals_hint(store, make_ctx, people):
    reply = await dispatch(make_ctx(OPERATOR), "/rule add mob повестка near/3 военкомат")
    assert "operators are written in capitals: NEAR/3" in reply.html and await get_rule(store, "mob") is None


async def test_rule_with_a_misspelt_operator_is_saved_with_a_warning(store, make_ctx, people):
    reply = await dispatch(make_ctx(OPERATOR), "/rule add mob повестка ANDD военкомат")
    assert "Added and live" in reply.html and "did you mean the operator AND?" in reply.html
