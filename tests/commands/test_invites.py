"""Invite codes: stored only as a hash, audited by its prefix, and they expire (issue 13 items 4, 8)."""
import hashlib
from datetime import timedelta

from bot.commands import dispatch
from bot.storage import db as storage_db
from bot.storage.audit import audit_entries
from bot.storage.subscribers import subscriber_by_chat
from tests.commands.cmd_helpers import ADMIN, NOW, STRANGER

def code_of(reply) -> str:
    return reply.html.split("/start ")[1].split("<")[0]


def database_bytes(store) -> bytes:
    path = storage_db.Path(store.path)
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


async def test_invite_code_is_never_stored_only_its_hash_and_the_audit_names_its_prefix(store, make_ctx, people):
    code = code_of(await dispatch(make_ctx(ADMIN), "/invite"))
    await dispatch(make_ctx(STRANGER), f"/start {code}")
    assert code.encode() not in database_bytes(store)
    prefix = hashlib.sha256(code.encode()).hexdigest()[:12]
    entries = await audit_entries(store)
    assert [e["object_id"] for e in entries if e["action"] == "invite.create"] == [prefix]
    assert not any(code in str(dict(e)) for e in entries)
    assert any(f"invite:{prefix}" in e["actor"] for e in entries if e["action"] == "subscriber.add")


async def test_invite_shows_its_expiry_from_the_setting(store, make_ctx, people, settings):
    ctx = make_ctx(ADMIN, settings=settings.replace(invite_days=3))
    reply = await dispatch(ctx, "/invite operator")
    assert f"Valid until {NOW + timedelta(days=3):%Y-%m-%d %H:%M} UTC" in reply.html


async def test_expired_invite_is_refused_on_redemption(store, make_ctx, people):
    code = code_of(await dispatch(make_ctx(ADMIN), "/invite"))
    late = await dispatch(make_ctx(STRANGER, now=NOW + timedelta(days=7, seconds=1)), f"/start {code}")
    assert "not valid" in late.html
    assert await subscriber_by_chat(store, STRANGER, active_only=True) is None
    in_time = await dispatch(make_ctx(STRANGER, now=NOW + timedelta(days=6)), f"/start {code}")
    assert "Welcome" in in_time.html


async def test_pending_access_requests_are_capped_per_person_and_in_total(store, make_ctx, people, monkeypatch):
    from bot.commands import subscriber
    groups = [-100 - i for i in range(5)]
    replies = [await dispatch(make_ctx(STRANGER, chat_id=g, is_chat_admin=True), "/start") for g in groups]
    assert [bool(r.notify) for r in replies] == [True, True, True, False, False]
    assert "Too many access requests" in replies[3].html
    monkeypatch.setattr(subscriber, "MAX_PENDING", 4)
    others = [await dispatch(make_ctx(1000 + i), "/start") for i in range(3)]
    assert [bool(r.notify) for r in others] == [True, False, False]
