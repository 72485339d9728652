"""SQL written for SQLite, run on PostgreSQL: statement translation and the migrations' PostgreSQL side.

Storage modules write SQLite SQL in the subset both engines share. `translate(sql, schema)`
turns one statement into PostgreSQL's (psycopg `%s` placeholders) and handles the few
SQLite-isms we use:
  - `?` → `%s` (and `%` → `%%`), outside string literals, quoted names and comments; `? IS NULL`
    casts its parameter to text (PostgreSQL cannot type a bare NULL parameter);
  - `INSERT OR IGNORE` → `… ON CONFLICT DO NOTHING`;
  - `INSERT OR REPLACE INTO t(cols)` → `… ON CONFLICT (t's primary key) DO UPDATE SET c = EXCLUDED.c`;
  - `UPDATE OR IGNORE` → `UPDATE`, run by the adapter under a savepoint that swallows a unique violation;
  - an INSERT into a table with an identity `id` gets `RETURNING id`, the adapter's `lastrowid`.
What PostgreSQL lacks is defined once per database (`BOOTSTRAP`): the `nocase` collation (so
`COLLATE NOCASE` needs no rewrite), two-argument `max`/`min`, `instr`, `dozor_sha256`.

Migrations keep their names on both engines. `pg_migration(name, sql)` is the PostgreSQL text of
one: an explicit override (`PG_OVERRIDES`) where SQLite-only objects are involved (FTS5 tables,
triggers), otherwise the SQLite text with types mapped (INTEGER → BIGINT, an INTEGER PRIMARY KEY
→ an identity, BLOB → BYTEA). A migration that still does not fit fails loudly on PostgreSQL
(tests/storage/test_pg_engine.py applies every one).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from bot.errors import StorageError

BOOTSTRAP = [
    """DO $$ BEGIN
        CREATE COLLATION nocase (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
    EXCEPTION WHEN duplicate_object THEN NULL; END $$""",
    "CREATE OR REPLACE FUNCTION max(a anyelement, b anyelement) RETURNS anyelement"
    " LANGUAGE sql IMMUTABLE AS 'SELECT GREATEST(a, b)'",
    "CREATE OR REPLACE FUNCTION min(a anyelement, b anyelement) RETURNS anyelement"
    " LANGUAGE sql IMMUTABLE AS 'SELECT LEAST(a, b)'",
    "CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer"
    " LANGUAGE sql IMMUTABLE AS 'SELECT strpos(haystack, needle)'",
    "CREATE OR REPLACE FUNCTION dozor_sha256(t text) RETURNS text"
    " LANGUAGE sql IMMUTABLE AS $$SELECT encode(sha256(convert_to(t, 'UTF8')), 'hex')$$",
]


@dataclass
class Schema:
    """What translation needs to know about the tables: primary keys and identity `id` columns."""
    primary_keys: dict[str, list[str]] = field(default_factory=dict)
    identity_tables: set[str] = field(default_factory=set)


@dataclass(frozen=True)
class Translated:
    sql: str
    returns_id: bool = False      # RETURNING id was added: the first row's value is lastrowid
    ignore_unique: bool = False   # UPDATE OR IGNORE: a unique violation means "no change"


_SEGMENTS = re.compile(r"('(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/)", re.S)
_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+(IGNORE|REPLACE)\s+)?INTO\s+(\w+)\s*(\(([^)]*)\))?", re.I)
_UPDATE_OR_IGNORE = re.compile(r"^\s*UPDATE\s+OR\s+IGNORE\s+", re.I)
_ON_CONFLICT = re.compile(r"\bON\s+CONFLICT\b", re.I)
_RETURNING = re.compile(r"\bRETURNING\b", re.I)


def _map_code(sql: str, fn) -> str:
    """Apply `fn` to the parts of `sql` outside literals, quoted names and comments."""
    parts = _SEGMENTS.split(sql)
    return "".join(fn(p) if i % 2 == 0 else p for i, p in enumerate(parts))


def _code_only(sql: str) -> str:
    return "".join(p for i, p in enumerate(_SEGMENTS.split(sql)) if i % 2 == 0)


_NULL_TEST = re.compile(r"\?(\s+IS\s+(?:NOT\s+)?NULL)\b", re.I)


def placeholders(sql: str) -> str:
    """`?` → `%s` outside literals; every `%` doubled (psycopg reads the whole text for placeholders).
    `? IS NULL` gets a type (a NULL parameter has none)."""
    sql = sql.replace("%", "%%")
    return _map_code(sql, lambda code: _NULL_TEST.sub(r"CAST(? AS TEXT)\1", code).replace("?", "%s"))


def translate(sql: str, schema: Schema) -> Translated:
    return _translate(sql, _frozen(schema))


def _frozen(schema: Schema):
    return (tuple(sorted((t, tuple(k)) for t, k in schema.primary_keys.items())),
            frozenset(schema.identity_tables))


@lru_cache(maxsize=4096)
def _translate(sql: str, frozen) -> Translated:
    primary_keys, identity_tables = dict(frozen[0]), frozen[1]
    ignore_unique = False
    if _UPDATE_OR_IGNORE.match(sql):
        sql = _UPDATE_OR_IGNORE.sub("UPDATE ", sql, count=1)
        ignore_unique = True
    returns_id = False
    insert = _INSERT.match(sql)
    if insert:
        verb, table = (insert.group(2) or "").upper(), insert.group(3).lower()
        sql = sql[:insert.start(1)] + sql[insert.end(1):] if insert.group(1) else sql
        code = _code_only(sql)
        tail = ""
        if verb == "IGNORE" and not _ON_CONFLICT.search(code):
            tail = " ON CONFLICT DO NOTHING"
        elif verb == "REPLACE":
            tail = _replace_clause(table, insert.group(5), primary_keys)
        if table in identity_tables and not _RETURNING.search(code):
            tail += " RETURNING id"
            returns_id = True
        sql = sql.rstrip().rstrip(";") + tail
    return Translated(placeholders(sql), returns_id, ignore_unique)


def _replace_clause(table: str, columns: str | None, primary_keys: dict[str, list[str]]) -> str:
    keys = primary_keys.get(table)
    if not keys or not columns:
        raise StorageError(f"INSERT OR REPLACE INTO {table} needs its column list and a primary key on PostgreSQL")
    names = [c.strip().lower() for c in columns.split(",")]
    rest = [c for c in names if c not in keys]
    if not rest:
        return f" ON CONFLICT ({', '.join(keys)}) DO NOTHING"
    sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in rest)
    return f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"


# --- migrations -------------------------------------------------------------------------------

_SQLITE_ONLY = re.compile(r"^\s*CREATE\s+(VIRTUAL\s+TABLE|TRIGGER)\b|\bPRAGMA\b|\bstrftime\s*\(|\bjulianday\s*\(", re.I)


def pg_ddl(sql: str) -> str:
    """SQLite column types as PostgreSQL's: 64-bit integers, identities, bytes."""
    def mapped(code: str) -> str:
        code = re.sub(r"\bINTEGER\s+PRIMARY\s+KEY\b(\s+AUTOINCREMENT)?",
                      "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", code, flags=re.I)
        code = re.sub(r"\bINTEGER\b", "BIGINT", code, flags=re.I)
        code = re.sub(r"\bBLOB\b", "BYTEA", code, flags=re.I)
        return re.sub(r"\bREAL\b", "DOUBLE PRECISION", code, flags=re.I)
    return _map_code(sql, mapped)


def without_statements(statements: list[str], *prefixes: str) -> list[str]:
    """The statements not starting with any of these prefixes (case and spacing ignored)."""
    def norm(text: str) -> str:
        return " ".join(_code_only(text).split()).upper()
    wanted = [norm(p) for p in prefixes]
    return [s for s in statements if not any(norm(s).startswith(p) for p in wanted)]


def pg_migration(name: str, statements: list[str]) -> list[str]:
    """The PostgreSQL statements of migration `name` (given its SQLite statements)."""
    override = PG_OVERRIDES.get(name)
    if override is not None:
        return override(statements)
    for statement in statements:
        if _SQLITE_ONLY.search(_code_only(statement)):
            raise StorageError(
                f"migration {name} uses SQLite-only SQL ({statement.split(chr(10))[0].strip()[:60]}…):"
                " add a PostgreSQL override to bot/storage/pg_sql.py PG_OVERRIDES")
    return [pg_ddl(s) for s in statements]


def _core(statements: list[str]) -> list[str]:
    kept = without_statements(statements, "CREATE VIRTUAL TABLE posts_fts", "CREATE TRIGGER posts_fts_")
    # posts_fts(rowid, text) stays readable (tests count indexed rows); search uses posts_lemmas
    return [pg_ddl(s) for s in kept] + ["CREATE VIEW posts_fts AS SELECT id AS rowid, text FROM posts"]


def _lemma_index(statements: list[str]) -> list[str]:
    return [
        "CREATE TABLE posts_lemmas (rowid BIGINT PRIMARY KEY, lemmas TSVECTOR NOT NULL)",
        "CREATE INDEX posts_lemmas_gin ON posts_lemmas USING GIN (lemmas)",
    ]


def _alert_log(statements: list[str]) -> list[str]:
    # alert_posts is read in insertion order by rowid, which PostgreSQL tables lack: give it one
    return [pg_ddl(s) for s in statements] + [
        "ALTER TABLE alert_posts ADD COLUMN rowid BIGINT GENERATED BY DEFAULT AS IDENTITY",
        "CREATE INDEX alert_posts_order ON alert_posts(alert_id, rowid)",
    ]


def _invite_hashes(statements: list[str]) -> list[str]:
    expiry = ("to_char((created_at::timestamptz + interval '7 days') AT TIME ZONE 'UTC',"
              " 'YYYY-MM-DD\"T\"HH24:MI:SS\"+00:00\"')")
    out = []
    for s in statements:
        if "strftime(" in s:
            s = re.sub(r"strftime\('%Y-%m-%dT%H:%M:%S\+00:00', created_at, '\+7 days'\)", lambda _: expiry, s)
        out.append(pg_ddl(s))
    return out


PG_OVERRIDES = {
    "0001_core": _core,
    "0004_lemma_index": _lemma_index,
    "0005_alert_log": _alert_log,
    "0011_invite_hashes_and_expiry": _invite_hashes,
}
