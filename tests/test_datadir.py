"""bot/datadir.py: the data folder is the owner's only; so are the database and its WAL/SHM files."""
from __future__ import annotations

import logging
import os
import stat

from datetime import datetime, timezone

from bot.storage import Store, kv


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


async def test_a_new_data_folder_is_0700_and_the_database_files_0600(tmp_path):
    data = tmp_path / "data"
    store = await Store.open(data / "dozor.db")
    await store.write(lambda c: kv.set_text(c, "k", "v", datetime(2024, 5, 1, tzinfo=timezone.utc)))
    try:
        assert mode(data) == 0o700
        for name in ("dozor.db", "dozor.db-wal", "dozor.db-shm"):
            assert mode(data / name) == 0o600, name
    finally:
        await store.close()


async def test_database_files_open_to_others_are_fixed_on_start_with_one_log_line(tmp_path, caplog):
    store = await Store.open(tmp_path / "dozor.db")
    await store.close()
    for name in ("dozor.db", "dozor.db-wal", "dozor.db-shm"):
        if (tmp_path / name).exists():
            os.chmod(tmp_path / name, 0o644)
    with caplog.at_level(logging.WARNING, logger="bot.datadir"):
        store = await Store.open(tmp_path / "dozor.db")
    await store.close()
    assert mode(tmp_path / "dozor.db") == 0o600
    assert len([r for r in caplog.records if "readable by others" in r.getMessage()]) == 1


def test_an_existing_data_folder_is_made_0700_when_dozor_starts(tmp_path, monkeypatch, caplog):
    from bot.__main__ import main

    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    monkeypatch.setenv("DOZOR_DATA_DIR", str(data))
    monkeypatch.chdir(tmp_path)
    main(["subscribers", "list"])
    assert mode(data) == 0o700


def test_session_files_stay_0600(tmp_path):
    from bot.settings import load_settings
    from bot.telegram.client import make_client, session_path

    settings = load_settings(env={"DOZOR_DATA_DIR": str(tmp_path / "d"), "TG_API_ID": "1", "TG_API_HASH": "0" * 32},
                             env_file=None, config_file=None)
    client = make_client(settings)
    client.session.close()
    assert mode(tmp_path / "d") == 0o700
    assert mode(session_path(settings)) == 0o600
