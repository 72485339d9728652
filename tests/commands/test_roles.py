"""Each role sees only what it may do; strangers get the access message and nothing else."""
from bot.commands import dispatch, dispatch_callback
from bot.commands.roles import ACCESS_MESSAGE
from bot.storage.rules import load_rule_defs
from bot.storage.audit import audit_entries

from tests.commands.cmd_helpers import ADMIN, GROUP, NOW, OPERATOR, STRANGER, SUBSCRIBER
from tests.factories import add_rule


async def audit_rows(store):
    return len(await audit_entries(store))


async def test_stranger_gets_only_the_access_message_for_any_command(store, make_ctx, people):
    before = await audit_rows(store)
    for text in ("/help", "/rules", "/rule add x мобилизация", "/search мобилизация", "/nonsense", "/mute 2h"):
        reply = await dispatch(make_ctx(STRANGER), text)
        assert reply.html == ACCESS_MESSAGE and not reply.notify and reply.file is None
    assert await audit_rows(store) == before


async def test_stranger_button_press_gets_the_access_message(make_ctx, people):
    reply = await dispatch_callback(make_ctx(STRANGER), "fb:+:1:*")
    assert reply.html == ACCESS_MESSAGE


async def test_subscriber_cannot_edit_rules(store, make_ctx, people):
    reply = await dispatch(make_ctx(SUBSCRIBER), "/rule add vdv мобилизация")
    assert "for operators" in reply.html
    assert await load_rule_defs(store) == []


async def test_subscriber_cannot_run_admin_commands(make_ctx, people):
    assert "for admins" in (await dispatch(make_ctx(SUBSCRIBER), "/invite")).html


async def test_operator_can_edit_rules_but_not_invite(store, make_ctx, people):
    assert "Added" in (await dispatch(make_ctx(OPERATOR), "/rule add vdv мобилизация")).html
    assert "for admins" in (await dispatch(make_ctx(OPERATOR), "/invite operator")).html


async def test_admin_from_settings_needs_no_row(store, make_ctx, people):
    await add_rule(store, "mobilization", "мобилизация")
    assert "mobilization" in (await dispatch(make_ctx(ADMIN), "/rules")).html


async def test_help_shows_operator_commands_only_to_operators(make_ctx, people):
    assert "/rule" not in (await dispatch(make_ctx(SUBSCRIBER), "/help")).html
    assert "/backtest" in (await dispatch(make_ctx(OPERATOR), "/help")).html
    assert "/invite" in (await dispatch(make_ctx(ADMIN), "/help")).html


async def test_removed_subscriber_is_a_stranger_again(store, make_ctx, people):
    from bot.storage import access
    await store.write(lambda c: access.remove_subscriber(c, SUBSCRIBER, "test", NOW))
    assert (await dispatch(make_ctx(SUBSCRIBER), "/help")).html == ACCESS_MESSAGE


async def test_member_of_an_unsubscribed_group_is_a_stranger_there(make_ctx, people):
    reply = await dispatch(make_ctx(STRANGER, chat_id=GROUP), "/search мобилизация")
    assert reply.html == ACCESS_MESSAGE


async def test_bad_input_from_a_subscriber_gets_usage_not_access_message(make_ctx, people):
    reply = await dispatch(make_ctx(SUBSCRIBER), "/mute forever")
    assert "/mute 30m | 2h | 1d | off" in reply.html
