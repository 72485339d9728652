"""`make bench`: every benchmark in turn, each printing its figures and its same-run baseline.

Order: matching, start-up, end to end (max and a steady 100 posts/s over all
22,099 replay posts, about 4 minutes), storage at 1,000,000 posts (builds the
cached /tmp database on first use, about 3 minutes), backtest/search on it,
webhook delivery (10 webhooks and a slow one beside Telegram, about 1 minute).
About 7 minutes with the 1M database cached, under 10 without, on 2 cores.
Results and the machine are recorded in docs/BENCHMARKS.md.

    .venv/bin/python bench/run_all.py [--quick]
"""
from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCHES = [
    ("matching", ["match_bench.py"], ["match_bench.py", "--posts", "1000", "--baseline-posts", "100"]),
    ("start-up", ["startup_bench.py"], ["startup_bench.py", "--runs", "3"]),
    ("end to end", ["e2e_bench.py"], ["e2e_bench.py", "--steady-posts", "3000"]),
    ("storage at 1M posts", ["storage_bench.py"], ["storage_bench.py", "--fresh-posts", "5000"]),
    ("backtest and search at 1M posts", ["backtest_bench.py"], ["backtest_bench.py"]),
    # 10 webhooks at 100 and 1,000 alerts/s, and a 2 s webhook beside Telegram: 5 runs of --seconds each
    ("webhook delivery", ["webhook_bench.py"], ["webhook_bench.py", "--seconds", "2"]),
]


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor() or "?")
    mem = next((int(line.split()[1]) / 2**20 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), 0.0)
    return (f"{os.cpu_count()} CPUs ({model}), {mem:.0f} GiB RAM, Python {platform.python_version()},"
            f" SQLite {sqlite3.sqlite_version}, {platform.system()} {platform.release()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller samples (a smoke run, figures not for the docs)")
    args = parser.parse_args()
    print(f"machine: {machine()}\n", flush=True)
    started, failed = time.perf_counter(), []
    for name, full, quick in BENCHES:
        argv = quick if args.quick else full
        print(f"=== {name}: bench/{' '.join(argv)}", flush=True)
        t = time.perf_counter()
        env = dict(os.environ, DOZOR_LOG_LEVEL="ERROR")
        done = subprocess.run([sys.executable, str(ROOT / "bench" / argv[0]), *argv[1:]], cwd=ROOT, env=env)
        if done.returncode:
            failed.append(name)
        print(f"=== {name}: {time.perf_counter() - t:.0f} s{' (FAILED)' if done.returncode else ''}\n", flush=True)
    print(f"all benches: {time.perf_counter() - started:.0f} s{'; failed: ' + ', '.join(failed) if failed else ''}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
