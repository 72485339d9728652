"""The live rule set lives in the `rules` table; config/rules.toml only seeds a new database.

Every change (upsert_rule, delete_rule: the console, the bot's /rule, `dozor rules import`)
bumps the rules version (key 'rules.version' in the state table) in the same transaction;
running processes poll `rules_version` and reload their set when it moves (bot/app/rules.py).
"""
from __future__ import annotations

import json
from dataclasses import asdict
from typing import Iterable, Sequence

import aiosqlite

from bot.clock import utc_now
from bot.models import RuleDef
from bot.storage import kv
from bot.storage.audit import record_audit
from bot.storage.db import Store, utcnow_iso

RULES_VERSION_KEY = "rules.version"

_LIST_FIELDS = ("tags", "channels_include", "channels_exclude", "langs")


def rule_from_row(row) -> RuleDef:
    return RuleDef(
        id=row["id"], query=row["query"], title=row["title"], exclude=row["exclude"],
        tags=tuple(json.loads(row["tags"])),
        channels_include=tuple(json.loads(row["channels_include"])),
        channels_exclude=tuple(json.loads(row["channels_exclude"])),
        langs=tuple(json.loads(row["langs"])), severity=row["severity"], enabled=bool(row["enabled"]),
        comment=row["comment"] or "",
    )


def rule_to_dict(rule: RuleDef) -> dict:
    data = asdict(rule)
    for key in _LIST_FIELDS:
        data[key] = list(data[key])
    return data


async def load_rule_defs(store: Store) -> list[RuleDef]:
    """Every rule in the database, enabled or not, ordered by id."""
    return [rule_from_row(r) for r in await store.fetchall("SELECT * FROM rules ORDER BY id")]


async def get_rule(store: Store, rule_id: str) -> RuleDef | None:
    row = await store.fetchone("SELECT * FROM rules WHERE id = ?", (rule_id,))
    return None if row is None else rule_from_row(row)


async def upsert_rule(conn: aiosqlite.Connection, rule: RuleDef, actor: str) -> None:
    """Insert or replace one rule and audit it; call inside Store.write (validate first)."""
    async with conn.execute("SELECT * FROM rules WHERE id = ?", (rule.id,)) as cur:
        old = await cur.fetchone()
    before = None if old is None else rule_to_dict(rule_from_row(old))
    await conn.execute(
        "INSERT OR REPLACE INTO rules(id, title, query, exclude, tags, channels_include,"
        " channels_exclude, langs, severity, enabled, updated_at, updated_by, comment)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            rule.id, rule.title, rule.query, rule.exclude,
            *(json.dumps(list(getattr(rule, k)), ensure_ascii=False) for k in _LIST_FIELDS),
            rule.severity, int(rule.enabled), utcnow_iso(), actor, rule.comment,
        ),
    )
    action = "rule.add" if before is None else "rule.edit"
    await record_audit(conn, actor, action, "rule", rule.id, before, rule_to_dict(rule))
    await kv.increment(conn, RULES_VERSION_KEY, utc_now())


async def delete_rule(conn: aiosqlite.Connection, rule_id: str, actor: str) -> bool:
    async with conn.execute("SELECT * FROM rules WHERE id = ?", (rule_id,)) as cur:
        old = await cur.fetchone()
    if old is None:
        return False
    await conn.execute("DELETE FROM rules WHERE id = ?", (rule_id,))
    await record_audit(conn, actor, "rule.del", "rule", rule_id, rule_to_dict(rule_from_row(old)), None)
    await kv.increment(conn, RULES_VERSION_KEY, utc_now())
    return True


async def rules_version(store: Store) -> int:
    """How many times the rules table has changed (0 for a database never changed through upsert/delete)."""
    return await kv.get_int(store, RULES_VERSION_KEY)


async def rule_changes(store: Store) -> dict[str, tuple[str, str | None]]:
    """rule id -> (updated_at, updated_by) of every rule."""
    rows = await store.fetchall("SELECT id, updated_at, updated_by FROM rules")
    return {r["id"]: (r["updated_at"], r["updated_by"]) for r in rows}


async def seed_rules_if_empty(store: Store, defs: Iterable[RuleDef], actor: str = "seed") -> int:
    """Fill an empty rules table from the rule file, once per database: a table an operator emptied
    (its rule writes are in the audit log) stays empty. Returns how many were added."""
    defs = list(defs)

    async def seed(conn: aiosqlite.Connection) -> int:
        async with conn.execute("SELECT (SELECT count(*) FROM rules)"
                                " + (SELECT count(*) FROM audit_log WHERE object_kind = 'rule')") as cur:
            if (await cur.fetchone())[0]:
                return 0
        for rule in defs:
            await upsert_rule(conn, rule, actor)
        return len(defs)

    return await store.write(seed)


async def rule_titles(store: Store, rule_ids: Sequence[str]) -> dict[str, str]:
    """Titles of these rules (those that have one), for the alert snapshot."""
    if not rule_ids:
        return {}
    marks = ",".join("?" * len(rule_ids))
    rows = await store.fetchall(f"SELECT id, title FROM rules WHERE id IN ({marks})", list(rule_ids))
    return {r["id"]: r["title"] for r in rows if r["title"]}
