"""`dozor rematch`: stored posts matched again after the rules changed; alerts only with --alert."""
from __future__ import annotations

import asyncio
import json

import pytest

from bot.__main__ import main
from bot.storage import open_store
from bot.storage.outbox import outbox_rows
from bot.storage.posts import matches_of
from bot.storage.subscribers import subscriber_by_chat

FIRST = '[[rule]]\nid = "callups"\nquery = "военкомат"\n'
LATER = '[[rule]]\nid = "deserters"\nquery = "дезертир"\n'
POSTS = [
    {"channel": "pskovgub", "id": 1, "date": "2024-05-13T09:00:00+00:00", "text": "Военкомат раздаёт повестки"},
    {"channel": "pskovgub", "id": 2, "date": "2024-05-14T09:00:00+00:00", "text": "Дезертир задержан в Пскове"},
]


@pytest.fixture
def replayed(cli_env, monkeypatch, capsys):
    """Both posts replayed with only the call-ups rule, a real subscriber of every rule, then a new rule."""
    (cli_env / "first.toml").write_text(FIRST, encoding="utf-8")
    (cli_env / "later.toml").write_text(LATER, encoding="utf-8")
    (cli_env / "posts.jsonl").write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in POSTS),
                                         encoding="utf-8")
    monkeypatch.setenv("DOZOR_RULES", str(cli_env / "first.toml"))
    assert main(["run", "--replay", "posts.jsonl"]) == 0
    assert main(["subscribers", "add", "42"]) == 0
    assert main(["rules", "import", "later.toml"]) == 0
    capsys.readouterr()
    return cli_env


async def _state(chat_id: int = 42) -> tuple[list, list, bool]:
    async with open_store("dozor.db") as store:
        subscriber = await subscriber_by_chat(store, chat_id, active_only=True)
        rows = await outbox_rows(store, subscriber.id)
        deserter = await store.fetchone("SELECT * FROM posts WHERE message_id = 2")
        matches = await matches_of(store, deserter["id"])
        return [r["post_id"] for r in rows], [m.rule_id for m in matches], bool(deserter["late"])


def state(chat_id: int = 42):
    return asyncio.run(_state(chat_id))


def test_rematch_records_what_a_new_rule_finds_and_alerts_nobody(replayed, capsys):
    assert main(["rematch"]) == 0
    out = capsys.readouterr().out
    assert "2 stored posts" in out and "deserters: 1 post newly matched" in out and "--alert" in out
    assert state() == ([], ["deserters"], False)


def test_rematch_with_alert_queues_a_late_alert_once(replayed, capsys):
    assert main(["rematch"]) == 0  # look first: the matches are recorded …
    assert main(["rematch", "--alert"]) == 0  # … and still alerted afterwards
    out = capsys.readouterr().out
    assert "alerts queued (marked late)" in out
    queued, rules, late = state()
    assert len(queued) == 1 and rules == ["deserters"] and late
    assert main(["rematch", "--alert"]) == 0
    assert "0 alerts queued" in capsys.readouterr().out
    assert len(state()[0]) == 1


def test_rematch_reads_only_the_days_asked_for(replayed, capsys):
    assert main(["rematch", "--from", "13.05.2024", "--to", "2024-05-13"]) == 0
    out = capsys.readouterr().out
    assert "1 stored post " in out and "deserters" not in out
    assert state()[1] == []


@pytest.mark.parametrize("args, says", [
    (["--from", "13/05/2024"], "is not a day"),
    (["--from", "31.02.2024"], "is no such day"),
    (["--from", "2024-05-14", "--to", "2024-05-13"], "swap them"),
])
def test_a_bad_day_is_one_line_and_exit_2(replayed, capsys, args, says):
    assert main(["rematch", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and says in err and "YYYY-MM-DD" in err or "swap" in err
