"""/console: a one-time login link for operators and admins, in a private chat only."""
from bot.commands import dispatch
from bot.storage import Store
from bot.storage.audit import audit_entries
from bot.storage.web_sessions import redeem_login_link
from tests.commands.cmd_helpers import ADMIN, NOW, OPERATOR, SUBSCRIBER


async def test_an_operator_gets_a_link_that_logs_them_in_once(store: Store, make_ctx, people):
    reply = await dispatch(make_ctx(OPERATOR), "/console")
    assert "http://127.0.0.1:8080/login/" in reply.html
    token = reply.html.split("/login/")[1].split('"')[0]
    assert await store.write(lambda c: redeem_login_link(c, token, NOW)) == OPERATOR
    assert await store.write(lambda c: redeem_login_link(c, token, NOW)) is None
    assert [e["action"] for e in await audit_entries(store, object_kind="user")] == ["web.link", "web.login"]


async def test_the_link_uses_the_configured_address(store, make_ctx, people, settings):
    ctx = make_ctx(ADMIN, settings=settings.replace(web_url="https://dozor.example.org/"))
    assert "https://dozor.example.org/login/" in (await dispatch(ctx, "/console")).html


async def test_subscribers_and_groups_get_no_link(store, make_ctx, people):
    assert "/login/" not in (await dispatch(make_ctx(SUBSCRIBER), "/console")).html
    assert "/login/" not in (await dispatch(make_ctx(OPERATOR, chat_id=-100500), "/console")).html
    assert await audit_entries(store, object_kind="user") == []
