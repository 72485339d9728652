"""Lease takeover between real processes on PostgreSQL: the holder is SIGKILLed, the other process
(with the same account) takes the account once the lease lapses, not before."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.storage import leases, open_store

HOLDER = """
import asyncio, sys
from datetime import datetime, timezone
from bot.storage import Store, leases
async def main(url, name, lease):
    store = await Store.open(url)
    pid = f"{name}:{__import__('os').getpid()}:x"
    while True:
        held = await leases.heartbeat(store, pid, ["main"], datetime.now(timezone.utc), lease_seconds=lease)
        if held.accounts:
            print(("took over " if held.taken_over else "holds ") + ",".join(sorted(held.accounts)), flush=True)
        await asyncio.sleep(0.5)
asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
"""
REPO = Path(__file__).resolve().parents[2]


def holder(url: str) -> str:
    async def read() -> str:
        async with open_store(url) as store:
            return (await leases.lease_holders(store))["main"][0]
    return asyncio.run(read())


def start(url: str, name: str, lease: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOLDER, url, name, str(lease)], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)


def test_a_killed_holders_account_is_taken_over_after_the_lease_lapses(pg_url):
    lease = 3.0
    first = start(pg_url, "one", lease)
    assert first.stdout.readline().startswith("holds main")
    second = start(pg_url, "two", lease)
    try:
        time.sleep(1.5)  # the second is running and heartbeating, but the lease is held
        assert holder(pg_url).startswith("one:")
        first.send_signal(signal.SIGKILL)
        first.wait()
        line = second.stdout.readline()  # blocks until the second process holds the account
        assert line.strip() == "took over main"  # its first hold, taken from the lapsed holder
        assert holder(pg_url).startswith("two:")
    finally:
        for p in (first, second):
            p.kill()
            p.wait()
