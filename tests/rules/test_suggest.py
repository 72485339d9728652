"""`dozor rules suggest` learns from feedback on real posts (issue 16).

The store holds a slice of the replay set: every post saying призыв… or
повестк… (the hits of a deliberately broad rule `callup`), the posts in
tests/rules/data/suggest_marks.jsonl, and every 20th other post as background.
The marks there were made by reading each post: 26 hits of `callup` are not
relevant («повестка дня», weather warnings «призывают быть внимательными», other
«призывает …»), 22 are relevant (conscription), and 8 posts about enlistment
offices that `callup` misses are relevant under the default `mobilization` rule.
Expected effects are computed here with plain regular expressions, apart from
the rule engine.
"""
import asyncio
import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.models import LOCAL_CHAT_ID, RuleDef
from bot.cli.suggest import build_plan
from bot.sources import ReadReport, read_posts
from bot.storage import open_store
from bot.storage import rule_feedback as rf
from bot.storage.audit import audit_entries
from bot.storage.posts import ensure_channel, insert_post, stored_counts
from bot.storage.rules import get_rule, upsert_rule
from bot.storage.subscribers import subscriber_by_chat
from tests.factories import shared_file

NOW = datetime(2024, 12, 5, tzinfo=timezone.utc)
MARKS = Path(__file__).resolve().parent / "data" / "suggest_marks.jsonl"
CALLUP = RuleDef("callup", "призыв* OR повестк*", title="Call-ups (broad)", tags=("mobilization",))
HIT = re.compile(r"(?<!\w)(призыв|повестк)", re.IGNORECASE)
AGENDA = re.compile(r"(?<!\w)повестк\w*\s+дня(?!\w)", re.IGNORECASE)
TCC = re.compile(r"(?<!\w)ТЦК(?!\w)", re.IGNORECASE)


def marks():
    return [json.loads(line) for line in MARKS.read_text(encoding="utf-8").splitlines() if line.strip()]


async def _fill(db, posts):
    async with open_store(db) as store:
        async def write(conn):
            for post in posts:
                await ensure_channel(conn, post, NOW, status="replay")
                await insert_post(conn, post, NOW)
            await upsert_rule(conn, CALLUP, "test")
            await upsert_rule(conn, RuleDef("mobilization", "военкомат OR ТЦК"), "test")
        await store.write(write)


@pytest.fixture(scope="module")
def replay_slice(tmp_path_factory):
    """(database path, stored posts by (channel_id, message_id)); marks are recorded by each test."""
    wanted = {(m["channel_id"], m["id"]) for m in marks()}
    replay = read_posts(shared_file("data", "replay", "posts.jsonl.gz"), ReadReport(), NOW)
    posts = [p for n, p in enumerate(replay)
             if HIT.search(p.text) or (p.channel_id, p.message_id) in wanted or n % 20 == 0]
    db = tmp_path_factory.mktemp("suggest") / "dozor.db"
    asyncio.run(_fill(db, posts))
    return db, {(p.channel_id, p.message_id): p for p in posts}


@pytest.fixture(scope="module")
def marked_db(replay_slice, tmp_path_factory):
    """The slice with every mark recorded through `dozor feedback`: (database path, post ids)."""
    folder = tmp_path_factory.mktemp("marked")
    db = folder / "dozor.db"
    db.write_bytes(replay_slice[0].read_bytes())
    ids = asyncio.run(_ids(db))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DOZOR_DB", str(db))
        mp.setenv("DOZOR_DATA_DIR", str(folder))
        for m in marks():
            verdict = "relevant" if m["relevant"] else "not"
            assert main(["feedback", str(ids[(m["channel_id"], m["id"])]), verdict, m["rule"]]) == 0
    return db, ids


@pytest.fixture(scope="module")
def plan(marked_db):
    return asyncio.run(_plan(marked_db[0]))


@pytest.fixture
def marked(marked_db, monkeypatch, tmp_path):
    """A private copy of the marked slice, which the CLI under test opens."""
    db = tmp_path / "dozor.db"
    db.write_bytes(marked_db[0].read_bytes())
    monkeypatch.setenv("DOZOR_DB", str(db))
    monkeypatch.setenv("DOZOR_DATA_DIR", str(tmp_path))
    return db, marked_db[1]


async def _every_post(store) -> list[rf.StoredPost]:
    return await rf.newest_posts(store, (await stored_counts(store))["posts"])


async def _ids(db):
    async with open_store(db) as store:
        posts = await _every_post(store)
    return {(p.channel_id, p.message_id): p.id for p in posts}


async def _plan(db):
    async with open_store(db) as store:
        return await build_plan(store, await get_rule(store, "callup"), limit=8)


def _texts(db):
    async def read():
        async with open_store(db) as store:
            return {p.id: p.text for p in await _every_post(store)}
    return asyncio.run(read())


def test_feedback_from_the_shell_is_stored_like_a_button_press(marked_db):
    db, ids = marked_db

    async def read():
        async with open_store(db) as store:
            return await rf.feedback_votes(store), await subscriber_by_chat(store, LOCAL_CHAT_ID, active_only=False)
    votes, terminal = asyncio.run(read())
    assert sum(len(v) for v in votes.values()) == len(marks())
    first = marks()[0]
    assert votes[ids[(first["channel_id"], first["id"])]][first["rule"]] == (int(first["relevant"]), 1)
    assert terminal is not None and not terminal.active  # marking a post starts no alerts


def test_feedback_takes_the_link_a_backtest_prints(marked, replay_slice, capsys):
    db, ids = marked
    already = {(m["channel_id"], m["id"]) for m in marks()}
    channel_id, message_id = next(k for k in ids if str(k[0]).startswith("-100") and k not in already)
    link = f"https://t.me/c/{str(channel_id)[4:]}/{message_id}"
    assert main(["feedback", link, "not", "mobilization"]) == 0
    assert "marked not relevant for rule mobilization" in capsys.readouterr().out

    async def votes():
        async with open_store(db) as store:
            return await rf.feedback_votes(store)
    assert asyncio.run(votes())[ids[(channel_id, message_id)]]["mobilization"] == (0, 1)


def test_feedback_names_a_missing_post_or_rule(marked, capsys):
    assert main(["feedback", "999999", "not", "callup"]) == 2
    assert "no stored post" in capsys.readouterr().err
    assert main(["feedback", "1", "not", "callupp"]) == 2
    assert "known: callup, mobilization" in capsys.readouterr().err


def test_a_phrase_only_in_not_relevant_hits_is_proposed_as_a_veto_with_its_effect(marked_db, plan):
    db, ids = marked_db
    texts = _texts(db)
    hits = {i for i, t in texts.items() if HIT.search(t)}
    assert plan.hits == hits
    vetoes = {s.term: (s, e) for s, e in plan.items if s.kind == "veto"}
    suggestion, effect = vetoes['"повестка день"']
    not_relevant = {ids[(m["channel_id"], m["id"])] for m in marks() if not m["relevant"]}
    assert suggestion.support == len({i for i in not_relevant if AGENDA.search(texts[i])}) == 7
    assert suggestion.against == 0
    assert set(effect.removed) == {i for i in hits if AGENDA.search(texts[i])}
    assert effect.added == ()


def test_words_of_relevant_posts_the_rule_misses_are_proposed_as_alternatives(marked_db, plan):
    db, ids = marked_db
    texts = _texts(db)
    alternatives = {s.term: (s, e) for s, e in plan.items if s.kind == "alternative"}
    suggestion, effect = alternatives["тцк"]
    missed = {ids[(m["channel_id"], m["id"])] for m in marks() if m["rule"] == "mobilization"}
    assert suggestion.support == len({i for i in missed if TCC.search(texts[i])}) == 5
    assert set(effect.added) == {i for i, t in texts.items() if TCC.search(t) and not HIT.search(t)}
    assert effect.removed == ()
    assert all(len(e.added) <= 3 * s.support + 5 for s, e in alternatives.values())  # none floods


def test_nothing_changes_until_a_suggestion_is_applied_with_yes(marked, plan, capsys):
    db, _ = marked
    n = 1 + [s.term for s, _ in plan.items].index('"повестка день"')
    assert main(["rules", "suggest", "callup", "--apply", str(n)]) == 2  # no terminal, no --yes
    shown = capsys.readouterr()
    assert f'{n}. veto "повестка день"' in shown.out and "not applied" in shown.err
    assert asyncio.run(_rule(db)).exclude is None
    assert main(["rules", "suggest", "callup", "--apply", str(n), "--yes"]) == 0
    rule = asyncio.run(_rule(db))
    assert rule.exclude == '"повестка день"' and rule.query == CALLUP.query
    assert asyncio.run(_audit(db))[-1] == ("cli", "rule.edit", "callup")


async def _rule(db):
    async with open_store(db) as store:
        return await get_rule(store, "callup")


async def _audit(db):
    async with open_store(db) as store:
        rows = await audit_entries(store)
    return [(r["actor"], r["action"], r["object_id"]) for r in rows]
