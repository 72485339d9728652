"""Migration 0011: invite codes written in plain text before it are kept only as a hash (issue 13 item 4)."""
import hashlib
from datetime import timedelta

from bot.storage import Store, access
from bot.storage import db as storage_db
from bot.storage.audit import audit_entries
from tests.commands.cmd_helpers import NOW

OLD_CODE = "oldplaincode42"


def database_bytes(store) -> bytes:
    path = storage_db.Path(store.path)
    return b"".join(p.read_bytes() for p in (path, path.with_name(path.name + "-wal")) if p.exists())


async def test_migration_hashes_existing_plain_codes_and_their_audit_rows(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    monkeypatch.setattr(storage_db, "MIGRATIONS", [m for m in storage_db.MIGRATIONS if m[0] < "0011"])
    old = await Store.open(path)
    created = NOW.isoformat(timespec="seconds")
    await old.write(lambda c: c.execute(  # the table as migration 0001 made it, written as Dozor did
        "INSERT INTO invites(code, role, created_by, created_at) VALUES (?, 'operator', 'tg:1', ?)",
        (OLD_CODE, created)))
    await old.write(lambda c: c.execute(
        "INSERT INTO audit_log(at, actor, action, object_kind, object_id) VALUES (?, ?, 'invite.create', 'invite', ?)",
        (created, f"tg:5 (invite:{OLD_CODE})", OLD_CODE)))
    await old.close()
    monkeypatch.undo()
    store = await Store.open(path)
    try:
        prefix = hashlib.sha256(OLD_CODE.encode()).hexdigest()[:12]
        [entry] = await audit_entries(store)
        assert entry["object_id"] == prefix and entry["actor"] == f"tg:5 (invite:{prefix})"
        assert OLD_CODE.encode() not in database_bytes(store)
        assert await store.write(lambda c: access.redeem_invite(c, OLD_CODE, 77, NOW + timedelta(days=8))) is None
        assert await store.write(lambda c: access.redeem_invite(c, OLD_CODE, 77, NOW + timedelta(days=1))) == "operator"
    finally:
        await store.close()
