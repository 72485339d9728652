"""Start-up: time from launching `dozor run` to the first post processed.

`dozor run --replay ONE_POST.jsonl --alerts-to FILE` is started as a subprocess
(`python -m bot`, as `.venv/bin/dozor` does); the clock stops when the alert
for its one matching post appears in FILE: the process has imported
everything, opened (or created and migrated) the database, seeded and compiled
the rules, read, normalized, matched and stored the post and delivered its
alert. Cold = a new data folder (migrations, rule seeding); warm = the same
folder again (a new post id each run). Live mode needs Telegram and cannot be
timed here; its start-up adds the connection and the first history sweep.
Baselines in the same run: a bare interpreter (`python -c pass`) and
`python -m bot --help` (imports of the CLI only).

    .venv/bin/python bench/startup_bench.py [--runs 5]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEXT = "В военкомат Северного района вызвали сорок мужчин: повестки разносят по месту работы, мобилизация идёт."


def environment(data: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOZOR_", "TG_"))}
    env.update(DOZOR_DATA_DIR=str(data), DOZOR_RULES=str(ROOT / "config" / "rules.toml"), DOZOR_LOG_LEVEL="WARNING")
    return env


def time_to_first_alert(folder: Path, data: Path, message_id: int) -> float:
    replay, alerts = folder / f"one_{message_id}.jsonl", folder / f"alerts_{data.name}_{message_id}.jsonl"
    replay.write_text(json.dumps({"channel": "startup_bench", "id": message_id, "text": TEXT,
                                  "date": "2024-05-13T08:15:00+00:00"}, ensure_ascii=False) + "\n", encoding="utf-8")
    cmd = [sys.executable, "-m", "bot", "run", "--replay", str(replay), "--alerts-to", str(alerts)]
    started = time.perf_counter()
    process = subprocess.Popen(cmd, env=environment(data), cwd=folder, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    while not (alerts.exists() and alerts.stat().st_size > 0):
        if process.poll() is not None and not (alerts.exists() and alerts.stat().st_size > 0):
            raise SystemExit(f"dozor run ended (exit {process.returncode}) without an alert")
        time.sleep(0.002)
    seconds = time.perf_counter() - started
    process.wait()
    return seconds


def time_command(cmd: list[str], folder: Path, data: Path) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, env=environment(data), cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=True)
    return time.perf_counter() - started


def summary(name: str, values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"{name}: median {statistics.median(ms):.0f} ms (min {ms[0]:.0f}, max {ms[-1]:.0f}, {len(ms)} runs)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        bare = [time_command([sys.executable, "-c", "pass"], folder, folder / "none") for _ in range(args.runs)]
        helps = [time_command([sys.executable, "-m", "bot", "--help"], folder, folder / "none") for _ in range(args.runs)]
        cold = [time_to_first_alert(folder, folder / f"cold{n}", 1) for n in range(args.runs)]
        warm = [time_to_first_alert(folder, folder / "cold0", 100 + n) for n in range(args.runs)]
    print("time from `dozor run --replay` to the first post processed (its alert written):")
    print("  " + summary("cold (new database: migrations, rule seeding)", cold))
    print("  " + summary("warm (existing database)", warm))
    print("  baseline " + summary("bare interpreter, python -c pass", bare))
    print("  baseline " + summary("python -m bot --help", helps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
