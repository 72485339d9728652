"""What the security review found sound, kept sound (issue 13): every operator and admin
command refused for those who may not run it, with nothing written; hostile HTML in every
reply parsed by Telethon's own HTML parser without error and without injected markup."""
from datetime import datetime, timezone

import pytest
from telethon import types
from telethon.extensions import html as tg_html

from bot.commands import dispatch, dispatch_callback
from bot.commands import parse as p
from bot.commands.roles import ACCESS_MESSAGE, Role
from bot.commands.router import ADMIN_ONLY, OPERATOR_ONLY, PRIVATE_ONLY, ROUTES
from bot.storage import access
from bot.storage import channels as channel_store
from bot.storage.audit import audit_entries
from bot.storage.subscribers import subscriber_by_chat
from tests.commands.cmd_helpers import ADMIN, GROUP, NOW, OPERATOR, STRANGER, SUBSCRIBER
from tests.factories import add_outbox_row, add_posts, add_rule, make_post

HOSTILE = '<a href="https://evil.example/">HOSTILE</a><b>BOLD</b> & "q" \'s'
CHANNEL = -1001777
COMMANDS: dict[type, str] = {  # one command of each kind, carrying hostile text where it can
    p.Start: "/start",
    p.Help: "/help",
    p.Subscribe: "/subscribe <b>BOLD</b>",
    p.Unsubscribe: "/unsubscribe <b>BOLD</b>",
    p.Mute: "/mute <b>BOLD</b>",
    p.Tz: "/tz <b>BOLD</b>",
    p.Style: "/style <b>BOLD</b>",
    p.Digest: "/digest <b>BOLD</b>",
    p.Search: f"/search {HOSTILE}",
    p.Export: "/export",
    p.Rules: "/rules",
    p.RuleShow: "/rule show hostile",
    p.RuleAdd: f"/rule add fresh {HOSTILE}",
    p.RuleEdit: f"/rule edit hostile {HOSTILE}",
    p.RuleDel: "/rule del hostile",
    p.RuleToggle: "/rule off hostile",
    p.RuleTest: f"/rule test hostile {HOSTILE} мобилизация",
    p.Backtest: f"/backtest {HOSTILE}",
    p.Channels: "/channels",
    p.ChannelAction: f"/channel pause {CHANNEL}",
    p.ChannelConfirm: f"/channel confirm {CHANNEL}",
    p.Stats: "/stats",
    p.Console: "/console",
    p.Invite: "/invite operator",
    p.Requests: "/requests",
    p.Decide: "/approve 555",
    p.SetRole: f"/role {SUBSCRIBER} operator",
    p.Audit: "/audit 50",
}
ECHOED = {p.Subscribe, p.Mute, p.Tz, p.Style, p.Digest, p.Search, p.RuleShow, p.RuleAdd, p.RuleEdit, p.RuleTest,
          p.Backtest, p.Channels, p.ChannelConfirm, p.Stats, p.Requests, p.Decide, p.Audit}
PRIVILEGED = [cls for cls, (role, _) in ROUTES.items() if role >= Role.OPERATOR]


def test_every_route_has_an_example_command():
    assert set(COMMANDS) == set(ROUTES)
    for cls, text in COMMANDS.items():
        if cls not in (p.Mute, p.Tz, p.Style, p.Digest):  # these carry input their parser refuses (and echoes)
            assert type(p.parse_command(text)) is cls


async def seed_hostile(store):
    """Hostile text wherever the database holds text someone else wrote."""
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group", title=HOSTILE))
    await add_rule(store, "hostile", "мобилизация", title=HOSTILE, tags=("<b>BOLD</b>",))
    await channel_store.save_channel(store, CHANNEL, title=HOSTILE, access_hash=1, actor=HOSTILE)
    await channel_store.add_request(store, "evil_name", HOSTILE)
    await store.write(lambda c: access.request_access(c, 555, HOSTILE, NOW))
    [post_id] = await add_posts(store, [make_post(text=f"{HOSTILE} мобилизация", channel_title=HOSTILE,
                                                  link='https://t.me/x/1"><b>BOLD</b>')])
    sub = await subscriber_by_chat(store, ADMIN, active_only=True)
    await add_outbox_row(store, sub.id, post_id, datetime(2024, 5, 10, 10, 0, tzinfo=timezone.utc),
                         ("hostile",))


def who(make_ctx, kind: str):
    return {
        "stranger": lambda: make_ctx(STRANGER),
        "subscriber": lambda: make_ctx(SUBSCRIBER),
        "group member": lambda: make_ctx(STRANGER, chat_id=GROUP, is_chat_admin=False),
        "operator in a group": lambda: make_ctx(OPERATOR, chat_id=GROUP, is_chat_admin=False),
    }[kind]()


@pytest.mark.parametrize("kind", ["stranger", "subscriber", "group member", "operator in a group"])
@pytest.mark.parametrize("cls", PRIVILEGED, ids=lambda cls: cls.__name__)
async def test_operator_and_admin_commands_are_refused_and_write_nothing(store, make_ctx, people, cls, kind):
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group"))
    await store.write(lambda c: access.request_access(c, 555, "Someone", NOW))
    await channel_store.save_channel(store, CHANNEL, title="Канал", access_hash=1)
    await add_rule(store, "hostile", "мобилизация")
    before = await audit_entries(store)
    if kind == "operator in a group" and ROUTES[cls][0] == Role.OPERATOR:
        expected = {PRIVATE_ONLY}
    else:
        expected = {ACCESS_MESSAGE, OPERATOR_ONLY, ADMIN_ONLY, PRIVATE_ONLY}
    reply = await dispatch(who(make_ctx, kind), COMMANDS[cls])
    assert reply.html in expected and not reply.notify and reply.file is None and not reply.buttons
    assert await audit_entries(store) == before


@pytest.mark.parametrize("kind", ["stranger", "subscriber", "group member", "operator in a group"])
async def test_access_decision_buttons_are_refused_and_write_nothing(store, make_ctx, people, kind):
    await store.write(lambda c: access.add_subscriber(c, GROUP, "test", NOW, kind="group"))
    await store.write(lambda c: access.request_access(c, 555, "Someone", NOW))
    before = await audit_entries(store)
    reply = await dispatch_callback(who(make_ctx, kind), "ap:555")
    assert reply.html in (ACCESS_MESSAGE, ADMIN_ONLY, PRIVATE_ONLY)
    assert await audit_entries(store) == before


def assert_no_injected_markup(html: str) -> None:
    text, entities = tg_html.parse(html)
    assert not any("evil" in (getattr(e, "url", "") or "") for e in entities), html
    for entity in entities:
        covered = text[entity.offset: entity.offset + entity.length]
        assert "HOSTILE" not in covered or "<a href" in covered, html
        assert not (isinstance(entity, types.MessageEntityBold) and covered == "BOLD"), html
    if "BOLD" in text:
        assert "<b>BOLD</b>" in text, html


@pytest.mark.parametrize("cls", list(ROUTES), ids=lambda cls: cls.__name__)
async def test_hostile_html_in_every_reply_stays_text(store, make_ctx, people, cls):
    await store.write(lambda c: access.add_subscriber(c, ADMIN, "test", NOW, title=HOSTILE))
    await seed_hostile(store)
    ctx = make_ctx(ADMIN, chat_title=HOSTILE)
    reply = await dispatch(ctx, COMMANDS[cls])
    for html in [reply.html] + [m.html for m in reply.notify]:
        assert_no_injected_markup(html)
    if cls in ECHOED:  # the hostile text is really in the reply, as text
        assert "<b>BOLD</b>" in tg_html.parse(reply.html)[0]


async def test_hostile_titles_in_an_access_request_notice_stay_text(store, make_ctx):
    reply = await dispatch(make_ctx(STRANGER, chat_title=HOSTILE), "/start")
    assert reply.notify
    for html in [reply.html] + [m.html for m in reply.notify]:
        assert_no_injected_markup(html)
