"""The audit log: who changed what, when, with the value before and after."""
from __future__ import annotations

import json
from typing import Any

import aiosqlite

from bot.storage.db import Store, utcnow_iso


async def record_audit(
    conn: aiosqlite.Connection,
    actor: str,
    action: str,
    object_kind: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
    at: str | None = None,
) -> None:
    """Append one audit row; call inside the same Store.write as the change itself."""
    await conn.execute(
        "INSERT INTO audit_log(at, actor, action, object_kind, object_id, before, after)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (
            at or utcnow_iso(), actor, action, object_kind, str(object_id),
            None if before is None else json.dumps(before, ensure_ascii=False, default=str),
            None if after is None else json.dumps(after, ensure_ascii=False, default=str),
        ),
    )


async def recent_audit(store: Store, limit: int) -> list[aiosqlite.Row]:
    """The newest `limit` audit rows, newest first (at, actor, action, object_kind, object_id, before, after)."""
    return await store.fetchall(
        "SELECT at, actor, action, object_kind, object_id, before, after FROM audit_log ORDER BY id DESC LIMIT ?",
        (limit,),
    )
