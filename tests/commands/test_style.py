"""/style full|compact: how this chat's alerts look (bot/delivery/alert_compact.py is the compact one)."""
from bot.commands import dispatch
from bot.models import AlertStyle
from bot.storage import access
from bot.storage.subscribers import subscriber_by_chat
from tests.commands.cmd_helpers import GROUP, NOW, SUBSCRIBER


async def test_style_command_sets_and_reports_the_style(store, make_ctx, people):
    assert "one line each" in (await dispatch(make_ctx(), "/style compact")).html
    assert (await subscriber_by_chat(store, SUBSCRIBER, active_only=True)).style == AlertStyle.COMPACT
    assert "Alert style: compact" in (await dispatch(make_ctx(), "/style")).html
    await dispatch(make_ctx(), "/style FULL")
    assert (await subscriber_by_chat(store, SUBSCRIBER, active_only=True)).style == AlertStyle.FULL


async def test_style_command_refuses_an_unknown_style_and_a_group_member_who_is_not_admin(store, make_ctx, people):
    assert "Write: /style full | compact" in (await dispatch(make_ctx(), "/style tiny")).html
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group"))
    reply = await dispatch(make_ctx(SUBSCRIBER, chat_id=GROUP), "/style compact")
    assert "Only this group's admins" in reply.html
    assert (await subscriber_by_chat(store, GROUP, active_only=True)).style == AlertStyle.FULL
