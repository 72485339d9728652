"""bot/runlock.py: one `dozor run` per data folder; a dead run's lock is taken over."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot.app.runlock import AlreadyRunning, RunLock


def test_a_second_live_run_prints_one_line_with_the_pid_and_exits_2(tmp_path, monkeypatch, capsys):
    from bot.__main__ import main

    for name, value in {"DOZOR_DATA_DIR": str(tmp_path), "TG_API_ID": "1", "TG_API_HASH": "0" * 32,
                        "TG_BOT_TOKEN": ""}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    with RunLock(tmp_path):  # the first run, holding the lock
        assert main(["run"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"dozor: another dozor run is running (pid {os.getpid()})"]


def test_a_lock_held_by_another_process_names_that_process(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from bot.app.runlock import RunLock; RunLock(sys.argv[1]).acquire();"
         " print('held', flush=True); time.sleep(30)", str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(AlreadyRunning, match=f"pid {holder.pid}"):
            RunLock(tmp_path).acquire()
    finally:
        holder.kill()
        holder.wait()
    RunLock(tmp_path).acquire().release()  # its end released the lock


def test_a_lock_file_left_by_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / "dozor.lock").write_text(f"{dead.pid}\n")
    lock = RunLock(tmp_path).acquire()
    try:
        assert (tmp_path / "dozor.lock").read_text().strip() == str(os.getpid())
    finally:
        lock.release()
