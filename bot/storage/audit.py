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


async def audit_entries(store: Store, *, action: str | None = None, object_kind: str | None = None,
                        object_id: str | None = None, limit: int | None = None,
                        newest_first: bool = False) -> list[aiosqlite.Row]:
    """Audit rows (id, at, actor, action, object_kind, object_id, before, after), optionally filtered."""
    filters = {"action": action, "object_kind": object_kind, "object_id": object_id}
    wanted = {column: value for column, value in filters.items() if value is not None}
    where = " AND ".join(f"{column} = ?" for column in wanted) or "1 = 1"
    order = "DESC" if newest_first else "ASC"
    limited = "" if limit is None else " LIMIT ?"  # portable: PostgreSQL refuses SQLite's LIMIT -1
    return await store.fetchall(
        "SELECT id, at, actor, action, object_kind, object_id, before, after FROM audit_log"
        f" WHERE {where} ORDER BY id {order}{limited}",
        (*wanted.values(), *(() if limit is None else (limit,))),
    )
