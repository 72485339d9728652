"""Subscriber commands: access by invite or approval, subscriptions, mute, tz, digest, export."""
import csv
import io
from datetime import date, datetime, timedelta, timezone

from bot.commands import dispatch, dispatch_callback
from bot.storage import access
from bot.storage.access import list_subscriptions
from bot.storage.subscribers import subscriber_by_chat
from bot.storage.audit import audit_entries
from tests.commands.cmd_helpers import ADMIN, GROUP, NOW, STRANGER, SUBSCRIBER
from tests.factories import add_outbox_row, add_posts, add_rule, make_post


async def subs_of(store, chat_id):
    sub = await subscriber_by_chat(store, chat_id, active_only=True)
    return await list_subscriptions(store, sub.id)


async def test_start_with_an_invite_makes_a_subscriber_once(store, make_ctx):
    await store.write(lambda c: access.create_invite(c, "code1234", "operator", "tg:1", NOW,
                                                          NOW + timedelta(days=7)))
    reply = await dispatch(make_ctx(STRANGER), "/start code1234")
    assert "role: operator" in reply.html
    assert (await subscriber_by_chat(store, STRANGER, active_only=True)).role == "operator"
    again = await dispatch(make_ctx(5), "/start code1234")
    assert "not valid or was used already" in again.html


async def test_start_without_invite_asks_the_admins_with_buttons(store, make_ctx):
    reply = await dispatch(make_ctx(STRANGER, chat_title="Anna"), "/start")
    assert "sent to the admins" in reply.html
    [note] = reply.notify
    assert note.chat_id == ADMIN and "Anna" in note.html
    assert [b.data for b in note.buttons[0]] == [f"ap:{STRANGER}", f"dn:{STRANGER}"]
    assert await subscriber_by_chat(store, STRANGER, active_only=True) is None


async def test_admin_approves_a_request_with_one_tap(store, make_ctx):
    await dispatch(make_ctx(STRANGER), "/start")
    reply = await dispatch_callback(make_ctx(ADMIN), f"ap:{STRANGER}")
    assert "Approved" in reply.html and reply.notify[0].chat_id == STRANGER
    assert await subs_of(store, STRANGER) == [("all", "")]


async def test_denied_request_adds_nobody(store, make_ctx):
    await dispatch(make_ctx(STRANGER), "/start")
    await dispatch(make_ctx(ADMIN), f"/deny {STRANGER}")
    assert await subscriber_by_chat(store, STRANGER, active_only=True) is None


async def test_asking_again_does_not_bother_the_admins_again(store, make_ctx):
    await dispatch(make_ctx(STRANGER), "/start")
    assert not (await dispatch(make_ctx(STRANGER), "/start")).notify
    await dispatch(make_ctx(ADMIN), f"/deny {STRANGER}")
    again = await dispatch(make_ctx(STRANGER), "/start")
    assert "declined" in again.html and not again.notify


async def test_group_member_who_is_not_admin_cannot_subscribe_the_group(store, make_ctx):
    reply = await dispatch(make_ctx(STRANGER, chat_id=GROUP), "/start")
    assert "Only this group's admins" in reply.html


async def test_group_admin_requests_access_for_the_group(store, make_ctx):
    reply = await dispatch(make_ctx(STRANGER, chat_id=GROUP, is_chat_admin=True), "/start")
    assert "sent to the admins" in reply.html
    await dispatch(make_ctx(ADMIN), f"/approve {GROUP}")
    assert (await subscriber_by_chat(store, GROUP, active_only=True)).kind == "group"


async def test_only_group_admins_change_a_group_subscription(store, make_ctx):
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group"))
    member = await dispatch(make_ctx(STRANGER, chat_id=GROUP), "/unsubscribe")
    assert "Only this group's admins" in member.html
    admin = await dispatch(make_ctx(STRANGER, chat_id=GROUP, is_chat_admin=True), "/unsubscribe")
    assert "Alerts stopped" in admin.html


async def test_subscribe_to_a_tag_replaces_all(store, make_ctx, people):
    await add_rule(store, "mobilization", "мобилизация", tags=("army",))
    reply = await dispatch(make_ctx(), "/subscribe army")
    assert "tag <code>army</code>" in reply.html
    assert await subs_of(store, SUBSCRIBER) == [("tag", "army")]


async def test_subscribe_to_an_unknown_tag_lists_the_known_ones(store, make_ctx, people):
    await add_rule(store, "mobilization", "мобилизация", tags=("army",))
    reply = await dispatch(make_ctx(), "/subscribe <b>x</b>")
    assert "There is no rule or tag" in reply.html and "army" in reply.html and "<b>x" not in reply.html


async def test_unsubscribe_one_rule_from_all_keeps_the_others(store, make_ctx, people):
    await add_rule(store, "mobilization", "мобилизация")
    await add_rule(store, "refusals", "отказ")
    await dispatch(make_ctx(), "/unsubscribe refusals")
    assert await subs_of(store, SUBSCRIBER) == [("rule", "mobilization")]


async def test_subscription_changes_are_audited(store, make_ctx, people):
    await dispatch(make_ctx(), "/unsubscribe")
    row = (await audit_entries(store, action="subscription.set", newest_first=True))[0]
    assert row["actor"] == f"tg:{SUBSCRIBER}" and row["before"] == '[["all", ""]]' and row["after"] == "[]"


async def test_mute_sets_until_and_off_clears_it(store, make_ctx, people):
    reply = await dispatch(make_ctx(), "/mute 2h")
    assert "muted until 2024-05-10 17:00" in reply.html  # 14:00 UTC in Moscow
    assert await access.muted_until(store, SUBSCRIBER) == "2024-05-10T14:00:00+00:00"
    await dispatch(make_ctx(), "/mute off")
    assert await access.muted_until(store, SUBSCRIBER) is None


async def test_tz_is_stored(store, make_ctx, people):
    await dispatch(make_ctx(), "/tz Asia/Yekaterinburg")
    assert (await subscriber_by_chat(store, SUBSCRIBER, active_only=True)).tz == "Asia/Yekaterinburg"


async def test_digest_asks_the_digest_function_for_the_local_day(make_ctx, people):
    asked = []

    async def digest(sub, day):
        asked.append(day)
        return "digest text"

    reply = await dispatch(make_ctx(digest=digest), "/digest yesterday")
    assert reply.html == "digest text" and asked == [date(2024, 5, 9)]


async def test_export_gives_a_csv_of_the_chats_alerts(store, make_ctx, people):
    [post_id] = await add_posts(store, [make_post(text="Мобилизация, запятые, \"кавычки\"")])
    sub = await subscriber_by_chat(store, SUBSCRIBER, active_only=True)
    await add_outbox_row(store, sub.id, post_id, datetime(2024, 5, 9, 10, 0, tzinfo=timezone.utc),
                         ("mobilization",), sent=True)
    reply = await dispatch(make_ctx(), "/export 3")
    name, data = reply.file
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert name.endswith(".csv") and len(rows) == 2 and "1 alert from" in reply.html
    assert rows[1][4] == "'@pskovgubernia" and rows[1][5] == "mobilization" and "\"кавычки\"" in rows[1][7]


async def test_feedback_button_records_every_rule_of_the_alert(store, make_ctx, people):
    [post_id] = await add_posts(store, [make_post()])
    sub = await subscriber_by_chat(store, SUBSCRIBER, active_only=True)
    await add_outbox_row(store, sub.id, post_id, datetime(2024, 5, 9, 10, 0, tzinfo=timezone.utc), ("a", "b"))
    reply = await dispatch_callback(make_ctx(), f"fb:-:{post_id}:*")
    assert "not relevant" in reply.html
    assert await access.rule_precision(store) == {"a": (0, 1), "b": (0, 1)}


async def test_mute_rule_button_mutes_that_rule_for_a_day(store, make_ctx, people):
    await dispatch_callback(make_ctx(), "mute:refusals")
    sub = await subscriber_by_chat(store, SUBSCRIBER, active_only=True)
    assert await access.muted_rules(store, sub.id) == [("refusals", "2024-05-11T12:00:00+00:00")]


async def test_unknown_button_data_is_answered(make_ctx, people):
    assert "no longer valid" in (await dispatch_callback(make_ctx(), "zz:1")).html


async def test_digest_without_a_hook_uses_the_digest_module(make_ctx, people):
    reply = await dispatch(make_ctx(), "/digest 2024-05-09")
    assert reply.html and reply.file is None


async def test_export_neutralises_formulas_in_post_text_and_channel_titles(store, make_ctx, people):
    [post_id] = await add_posts(store, [make_post(text='=HYPERLINK("http://evil.example","Мобилизация")',
                                                  channel=None, channel_title="@SUM(1+1)", link=None)])
    sub = await subscriber_by_chat(store, SUBSCRIBER, active_only=True)
    await add_outbox_row(store, sub.id, post_id, datetime(2024, 5, 9, 10, 0, tzinfo=timezone.utc),
                         ("mobilization",), sent=True)
    _, data = (await dispatch(make_ctx(), "/export 3")).file
    [_, row] = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert row[7] == "'" + '=HYPERLINK("http://evil.example","Мобилизация")' and row[4] == "'@SUM(1+1)"


async def test_digest_of_a_calendar_day_subscriber_asks_for_the_day_named_whole(store, make_ctx, people):
    from tests.commands.cmd_helpers import NOW
    await store.write(lambda c: access.update_subscriber(c, SUBSCRIBER, "test", NOW, "subscriber.digest_calendar_day",
                                                         digest_calendar_day=1))
    asked = []

    async def digest(sub, day):
        asked.append((sub.digest_calendar_day, day))
        return "digest text"

    await dispatch(make_ctx(digest=digest), "/digest 08.05.2024")
    assert asked == [(True, date(2024, 5, 9))]  # due the day after the calendar day it covers
