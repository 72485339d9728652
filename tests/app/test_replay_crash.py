"""SIGKILL during `dozor run --replay`, then the same command again: every matched post alerted, none lost."""
import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from bot.storage import open_store
from bot.storage.posts import matched_post_keys
from tests.factories import repeated_sample, replay_command, shared_file

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "config" / "rules.toml"


def environment(tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOZOR_", "TG_"))}
    env.update(DOZOR_DATA_DIR=str(tmp_path / "data"), DOZOR_RULES=str(RULES), DOZOR_LOG_LEVEL="WARNING")
    return env


def big_replay(tmp_path: Path, copies: int) -> Path:
    """The sample repeated under new message ids: a few thousand posts, a third of them matching."""
    return repeated_sample(tmp_path / "big.jsonl", copies)


def kill_after(command: list[str], env: dict, cwd: Path, seconds: float) -> None:
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(seconds)
    process.send_signal(signal.SIGKILL)
    process.wait()


def alerted_keys(alerts: Path) -> set[tuple[int, int]]:
    keys = set()
    for line in alerts.read_text(encoding="utf-8").splitlines():
        try:
            post = json.loads(line)["post"]
        except (ValueError, KeyError):  # a line cut by the kill
            continue
        keys.add((post["channel_id"], post["id"]))
    return keys


def matched_keys(db: Path) -> set[tuple[int, int]]:
    async def read() -> set[tuple[int, int]]:
        async with open_store(db) as store:
            return await matched_post_keys(store)

    return asyncio.run(read())


def run_with_kills(tmp_path: Path, replay: Path, moments: list[float]) -> tuple[set, set, str]:
    if not RULES.is_file():
        pytest.skip("config/rules.toml is not there yet")
    env, alerts = environment(tmp_path), tmp_path / "a.jsonl"
    killed_at: list[int] = []  # alerts written when each kill landed (for the failure message)
    for seconds in moments:
        kill_after(replay_command(replay, alerts), env, tmp_path, seconds)
        killed_at.append(len(alerted_keys(alerts)) if alerts.exists() else 0)
    done = subprocess.run(replay_command(replay, alerts), env=env, cwd=tmp_path, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    print("alerts written at each kill:", killed_at)
    return matched_keys(tmp_path / "data" / "dozor.db"), alerted_keys(alerts), done.stdout


def test_killed_replays_then_a_full_one_alert_every_matched_post(tmp_path):
    replay = big_replay(tmp_path, copies=30)  # 2,490 posts
    matched, alerted, out = run_with_kills(tmp_path, replay, [0.6, 0.9, 1.3])
    assert matched and matched <= alerted
    assert "0 pending" in out


@pytest.mark.slow
def test_killed_replays_of_the_shared_set_alert_every_matched_post(tmp_path):
    replay = shared_file("data", "replay", "posts.jsonl.gz")
    matched, alerted, _ = run_with_kills(tmp_path, replay, [1.0, 3.0, 5.0, 7.0])
    assert matched and matched <= alerted
