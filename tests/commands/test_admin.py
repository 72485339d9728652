"""Admin commands: invites, requests, roles and the audit log."""
import json

from bot.commands import dispatch
from bot.storage.subscribers import subscriber_by_chat
from bot.storage.audit import audit_entries
from tests.commands.cmd_helpers import ADMIN, NOW, OPERATOR, STRANGER, SUBSCRIBER


async def test_invite_makes_a_code_that_starts_an_operator(store, make_ctx, people):
    reply = await dispatch(make_ctx(ADMIN), "/invite operator")
    code = reply.html.split("/start ")[1].split("<")[0]
    await dispatch(make_ctx(STRANGER), f"/start {code}")
    assert (await subscriber_by_chat(store, STRANGER, active_only=True)).role == "operator"
    actions = [r["action"] for r in await audit_entries(store)]
    assert actions[-2:] == ["invite.create", "subscriber.add"]


async def test_requests_lists_pending_with_buttons_for_the_first(store, make_ctx, people):
    await dispatch(make_ctx(STRANGER, chat_title="Anna"), "/start")
    reply = await dispatch(make_ctx(ADMIN), "/requests")
    assert "1 pending" in reply.html and "Anna" in reply.html and reply.buttons[0][0].data == f"ap:{STRANGER}"


async def test_approve_without_a_request_says_so(make_ctx, people):
    assert "No pending request" in (await dispatch(make_ctx(ADMIN), "/approve 777")).html


async def test_role_change_is_audited_with_before_and_after(store, make_ctx, people):
    await dispatch(make_ctx(ADMIN), f"/role {SUBSCRIBER} operator")
    assert (await subscriber_by_chat(store, SUBSCRIBER, active_only=True)).role == "operator"
    row = (await audit_entries(store, action="role.set"))[0]
    assert row["actor"] == f"tg:{ADMIN}" and json.loads(row["before"]) == {"role": "subscriber"}
    assert json.loads(row["after"]) == {"role": "operator"} and row["at"] == NOW.isoformat()


async def test_role_of_a_stranger_is_refused(make_ctx, people):
    assert "not a subscriber" in (await dispatch(make_ctx(ADMIN), f"/role {STRANGER} operator")).html


async def test_group_cannot_be_an_operator(make_ctx, people):
    assert "Only a person" in (await dispatch(make_ctx(ADMIN), "/role -100123 operator")).html


async def test_audit_shows_the_latest_changes_escaped(store, make_ctx, people):
    await dispatch(make_ctx(OPERATOR), "/rule add vdv вдв")
    reply = await dispatch(make_ctx(ADMIN), "/audit 1")
    assert "rule.add" in reply.html and f"tg:{OPERATOR}" in reply.html and "Last 1 changes" in reply.html
