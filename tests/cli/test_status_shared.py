"""`dozor status` on a shared PostgreSQL store: processes alive, their accounts, outbox depth, sweeps."""
from __future__ import annotations

import asyncio

from bot.__main__ import main
from bot.clock import utc_now
from bot.storage import leases, open_store


def test_status_of_a_shared_store_lists_processes_outbox_and_sweeps(workdir, pg_url, capsys, monkeypatch):
    async def beat():
        async with open_store(pg_url) as store:
            await leases.heartbeat(store, "newsroom-1:4242:ab12cd", ["main"], utc_now())
    asyncio.run(beat())
    monkeypatch.setenv("DOZOR_DB", pg_url)
    assert main(["status"]) == 0
    out = capsys.readouterr().out
    assert "processes alive: 1" in out and "newsroom-1:4242:ab12cd: accounts main; 0 channels" in out
    assert "outbox depth: 0 pending (0 claimed), oldest none" in out
    assert "database: postgresql://" in out
