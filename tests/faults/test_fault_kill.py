"""SIGKILL at 20 seeded random moments during `dozor run --replay … --alerts-to FILE`.

After each kill the same command runs again; a last run is left to finish.
At the end every matched post has been written to the JSONL sink (none
missing), no unmatched post was alerted, nothing is pending, and the database
passes SQLite's integrity check. Duplicates (a kill between the sink's write and
"marked sent") are allowed by the at-least-once design: they are counted and
printed (run pytest with -s to see them).
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

import pytest

from bot.storage import open_store
from bot.storage.outbox import count_by_status
from bot.storage.posts import matched_post_keys
from tests.factories import repeated_sample, replay_command
from tests.storage.faults import integrity_check

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "config" / "rules.toml"
SEED = 20261125
KILLS = 20
COPIES = 120  # 83 sample posts x 120 = 9,960 posts, about a third of them matching


def environment(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOZOR_", "TG_"))}
    env.update(DOZOR_DATA_DIR=str(tmp_path / "data"), DOZOR_RULES=str(RULES), DOZOR_LOG_LEVEL="WARNING")
    return env


def write_replay(tmp_path: Path) -> Path:
    return repeated_sample(tmp_path / "replay.jsonl", COPIES)



def run_and_kill(cmd: list[str], env: dict, cwd: Path, seconds: float) -> bool:
    """Start the command, SIGKILL it after `seconds`; True if it was still running then."""
    process = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    running = process.poll() is None
    process.send_signal(signal.SIGKILL)
    process.wait()
    return running


def alert_lines(alerts: Path) -> tuple[Counter, int]:
    """How often each (channel_id, message id) was alerted, and how many lines were cut."""
    seen, cut = Counter(), 0
    if not alerts.exists():
        return seen, cut
    for line in alerts.read_text(encoding="utf-8").splitlines():
        try:
            post = json.loads(line)["post"]
        except (ValueError, KeyError):
            cut += 1
            continue
        seen[(post["channel_id"], post["id"])] += 1
    return seen, cut


def database_facts(db: Path) -> tuple[set, str, dict]:
    """(matched (channel_id, message_id) keys, integrity check result, outbox rows by status)."""
    check = integrity_check(db)  # the file as the last run left it, before anything opens it again

    async def read() -> tuple[set, dict]:
        async with open_store(db) as store:
            return await matched_post_keys(store), await count_by_status(store)

    matched, statuses = asyncio.run(read())
    return matched, check, statuses


@pytest.fixture(scope="module")
def killed_run(tmp_path_factory):
    """Run the 20 kills and the final run once; the tests below read its outcome."""
    if not RULES.is_file():
        pytest.skip("config/rules.toml is missing")
    tmp_path = tmp_path_factory.mktemp("kills")
    replay, alerts, env = write_replay(tmp_path), tmp_path / "alerts.jsonl", environment(tmp_path)
    rng = random.Random(SEED)
    landed = []
    for _ in range(KILLS):
        moment = rng.uniform(0.3, 1.0)
        landed.append((round(moment, 2), run_and_kill(replay_command(replay, alerts), env, tmp_path, moment)))
    done = subprocess.run(replay_command(replay, alerts), env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    seen, cut = alert_lines(alerts)
    matched, check, statuses = database_facts(tmp_path / "data" / "dozor.db")
    duplicates = {key: n for key, n in seen.items() if n > 1}
    print(f"\nkills (seconds, still running): {landed}")
    print(f"matched posts {len(matched)}, alerted {len(seen)}, duplicate alerts {sum(duplicates.values()) - len(duplicates)}"
          f" over {len(duplicates)} posts, cut lines {cut}, outbox {statuses}")
    for key, n in sorted(duplicates.items()):
        print(f"  duplicate: channel {key[0]} message {key[1]} alerted {n} times")
    return {"done": done, "seen": seen, "matched": matched, "check": check, "statuses": statuses,
            "landed": landed, "cut": cut}


def test_the_run_after_twenty_kills_finishes_cleanly(killed_run):
    assert killed_run["done"].returncode == 0, killed_run["done"].stderr
    assert "0 pending" in killed_run["done"].stdout


def test_most_kills_landed_while_the_replay_was_running(killed_run):
    assert sum(running for _, running in killed_run["landed"]) >= KILLS // 2


def test_every_matched_post_was_alerted_after_twenty_kills(killed_run):
    assert killed_run["matched"]
    assert killed_run["matched"] - set(killed_run["seen"]) == set()


def test_no_unmatched_post_was_alerted_after_twenty_kills(killed_run):
    assert set(killed_run["seen"]) - killed_run["matched"] == set()


def test_every_outbox_row_is_sent_after_twenty_kills(killed_run):
    assert set(killed_run["statuses"]) == {"sent"}


def test_database_passes_integrity_check_after_twenty_kills(killed_run):
    assert killed_run["check"] == "ok"
