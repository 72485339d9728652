"""Three `dozor run --replay` processes share one PostgreSQL store; one is SIGKILLed and restarted.

Each replays its own shard (disjoint posts); all alert the one shared local subscriber, and any
process's worker may deliver any row (claimed with FOR UPDATE SKIP LOCKED). In the end every
matched post is alerted, none twice except a row the killed process had sent but not yet marked
(at least once, by design), and no outbox row is left pending or claimed.

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.storage import open_store
from bot.storage.outbox import outbox_rows
from bot.storage.posts import matched_post_keys
from tests.app.test_replay_crash import RULES, environment
from tests.factories import SHARED, repeated_sample, replay_command


def shards(source: Path, folder: Path, count: int) -> list[Path]:
    lines = (source.read_text(encoding="utf-8") if source.suffix != ".gz"
             else __import__("gzip").open(source, "rt", encoding="utf-8").read()).splitlines()
    paths = [folder / f"shard{i}.jsonl" for i in range(count)]
    for i, path in enumerate(paths):
        path.write_text("\n".join(lines[i::count]) + "\n", encoding="utf-8")
    return paths


def alert_lines(alerts: Path) -> Counter:
    counted = Counter()
    for line in alerts.read_text(encoding="utf-8").splitlines() if alerts.exists() else []:
        try:
            post = json.loads(line)["post"]
        except (ValueError, KeyError):  # a line cut by the kill
            continue
        counted[(post["channel_id"], post["id"])] += 1
    return counted


def run_shared(tmp_path: Path, source: Path, pg_url: str, kill_after: float) -> tuple[set, Counter, list]:
    if not RULES.is_file():
        pytest.skip("config/rules.toml is not there")
    parts = shards(source, tmp_path, 3)
    envs = []
    for i in range(3):
        folder = tmp_path / f"p{i}"
        folder.mkdir()
        env = environment(folder)
        env["DOZOR_DB"] = pg_url
        envs.append(env)
    alerts = [tmp_path / f"p{i}" / "a.jsonl" for i in range(3)]
    procs = [subprocess.Popen(replay_command(parts[i], alerts[i]), env=envs[i], cwd=tmp_path / f"p{i}",
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for i in range(3)]
    time.sleep(kill_after)
    procs[0].send_signal(signal.SIGKILL)
    procs[0].wait()
    again = subprocess.run(replay_command(parts[0], alerts[0]), env=envs[0], cwd=tmp_path / "p0",
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr
    for p in procs[1:]:
        assert p.wait(timeout=600) == 0, p.stderr.read()

    async def read():
        async with open_store(pg_url) as store:
            return await matched_post_keys(store), await outbox_rows(store)
    matched, rows = asyncio.run(read())
    counted = sum((alert_lines(a) for a in alerts), Counter())
    return matched, counted, rows


def check(matched: set, counted: Counter, rows: list) -> None:
    assert matched and matched <= set(counted)
    assert all(r["status"] == "sent" and r["claimed_by"] is None for r in rows if r["action"] == "send")
    twice = [k for k, n in counted.items() if n > 1]
    assert len(twice) <= 100, f"{len(twice)} posts alerted twice"  # at most the killed process's one batch


def test_three_processes_one_killed_alert_every_match_once(tmp_path, pg_url):
    source = repeated_sample(tmp_path / "big.jsonl", copies=12)  # 996 posts, 332 a process
    matched, counted, rows = run_shared(tmp_path, source, pg_url, kill_after=2.5)
    check(matched, counted, rows)
    print(f"{len(matched)} matched; alerted {sum(counted.values())} times; "
          f"{sum(1 for n in counted.values() if n > 1)} twice")


@pytest.mark.slow
def test_three_processes_replay_the_shared_set_with_one_killed(tmp_path, pg_url):
    source = SHARED / "data" / "replay" / "posts.jsonl.gz"
    if not source.exists():
        pytest.skip("../shared/data/replay is not there")
    matched, counted, rows = run_shared(tmp_path, source, pg_url, kill_after=8.0)
    check(matched, counted, rows)
