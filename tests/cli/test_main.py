"""`dozor` end to end, in-process: replay of the built-in sample, errors as one line and exit 2.

(Named test_dozor_cli.py, not test_cli.py: tests/commands/test_cli.py has that basename and
pytest's default import mode cannot hold two modules of one name.)
"""
import json
from pathlib import Path

import pytest

from bot.__main__ import main

REPO = Path(__file__).resolve().parents[2]
RULES = REPO / "config" / "rules.toml"


def test_help_lists_the_run_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0 and "run" in capsys.readouterr().out


def test_run_without_credentials_replays_the_sample_with_alerts_digest_and_summary(workdir, capsys):
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert out.count("● ") >= 1 and "**" in out
    assert "posts read" in out and str(workdir / "data" / "demo.db") in out
    assert "dozor login" in out


def test_second_run_prints_no_new_alert(workdir, capsys):
    main(["run"])
    capsys.readouterr()
    assert main(["run"]) == 0
    out = capsys.readouterr().out
    assert "● " not in out and "0 new" in out


def test_alerts_to_writes_one_line_per_alert(workdir, capsys):
    assert main(["run", "--alerts-to", "a.jsonl"]) == 0
    out = capsys.readouterr().out
    lines = (workdir / "a.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == out.count("● ") > 0
    assert json.loads(lines[0])["rules"]


def test_bad_lines_are_reported_with_their_number_and_the_rest_is_processed(workdir, capsys, caplog):
    path = workdir / "p.jsonl"
    path.write_text('{"text": "one", "id": 1}\nnot json\n{"id": 3}\n{"text": "four", "id": 4}\n', encoding="utf-8")
    assert main(["run", "--replay", str(path)]) == 0
    captured = capsys.readouterr()
    assert "line 2 skipped: not JSON" in caplog.text and "line 3 skipped" in caplog.text
    assert "2 posts read" in captured.out and "2 lines skipped" in captured.out


def test_missing_replay_file_is_one_line_and_exit_2(workdir, capsys):
    assert main(["run", "--replay", "missing.jsonl"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "missing.jsonl" in err


def test_unreadable_database_is_one_line_and_exit_2(workdir, capsys, monkeypatch):
    bad = workdir / "bad.db"
    bad.write_bytes(b"not a database" * 100)
    monkeypatch.setenv("DOZOR_DB", str(bad))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert err.strip().count("\n") == 0 and "bad.db" in err


def test_malformed_setting_is_one_line_naming_it_and_exit_2(workdir, capsys, monkeypatch):
    monkeypatch.setenv("DOZOR_MAX_ATTEMPTS", "many")
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "DOZOR_MAX_ATTEMPTS" in err and "Traceback" not in err


def test_live_mode_runs_the_watcher_and_delivers_until_stopped(workdir, capsys, monkeypatch):
    import asyncio

    import bot.app.live
    from bot.storage.outbox import count_by_status, outbox_rows
    from tests.factories import add_subscriber, make_post

    seen = {}

    async def fake_run_live(settings, store, pipeline, stop, alert_backfill=False, **seams):
        chat = await add_subscriber(store, 42)
        seen["new"] = await pipeline.on_post(make_post(text="В военкомат вызвали мобилизованных"))
        for _ in range(200):
            if (await count_by_status(store)).get("sent"):
                break
            await asyncio.sleep(0.01)
        seen["backfill"] = alert_backfill
        seen["pending"] = sum(  # --dry-run: the real chat's alert waits for a real run
            row["status"] == "pending" for row in await outbox_rows(store, chat.id))
        stop.set()

    monkeypatch.setattr(bot.app.live, "run_live", fake_run_live)
    monkeypatch.setenv("TG_API_ID", "1")
    monkeypatch.setenv("TG_API_HASH", "x" * 32)
    assert main(["run", "--dry-run", "--alert-backfill"]) == 0
    assert seen == {"new": True, "backfill": True, "pending": 1}
    assert "<b>" in capsys.readouterr().out  # the HTML a Telegram chat would get


def test_rule_file_with_a_syntax_error_exits_2_and_seeds_nothing(workdir, capsys, monkeypatch):
    bad = workdir / "bad.toml"
    bad.write_text('[[rule]]\nid = "x"\nquery = "(a OR"\n', encoding="utf-8")
    monkeypatch.setenv("DOZOR_RULES", str(bad))
    assert main(["run"]) == 2
    assert "rule 'x'" in capsys.readouterr().err
    monkeypatch.setenv("DOZOR_RULES", str(RULES))
    assert main(["run"]) == 0
    assert "● " in capsys.readouterr().out


def test_seeding_from_a_rule_file_whose_item_is_not_a_table_exits_2_with_one_message(workdir, capsys, monkeypatch):
    bad = workdir / "bad.toml"
    bad.write_text('rule = ["x"]\n', encoding="utf-8")
    monkeypatch.setenv("DOZOR_RULES", str(bad))
    assert main(["run"]) == 2
    err = capsys.readouterr().err
    assert "not a table" in err and "[[rule]]" in err and "Traceback" not in err


def test_version_prints_the_package_version(capsys):
    from importlib import metadata
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0 and capsys.readouterr().out.strip() == f"dozor {metadata.version('dozor')}"


def test_one_bad_line_is_counted_in_the_singular(workdir, capsys):
    path = workdir / "p.jsonl"
    path.write_text('{"text": "one", "id": 1}\nnot json\n', encoding="utf-8")
    assert main(["run", "--replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert "1 post read" in out and "1 line skipped" in out and "1 lines" not in out


def test_a_bad_date_in_jsonl_names_the_expected_format(workdir, caplog):
    path = workdir / "p.jsonl"
    path.write_text('{"text": "one", "id": 1, "date": "12/04/2022"}\n', encoding="utf-8")
    assert main(["run", "--replay", str(path)]) == 0
    assert "ISO 8601, e.g. 2022-04-12T09:30:00+00:00" in caplog.text and "Unix time" in caplog.text


def test_sigterm_during_a_replay_stops_cleanly_and_exits_0(workdir):
    import os
    import signal
    import subprocess
    import sys
    sample = (REPO / "bot" / "sample" / "posts.jsonl").read_text(encoding="utf-8").splitlines()
    posts = []
    for n in range(6000):
        post = json.loads(sample[n % len(sample)])
        post["id"] = 100_000 + n
        posts.append(json.dumps(post, ensure_ascii=False))
    (workdir / "big.jsonl").write_text("\n".join(posts) + "\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DOZOR_", "TG_"))}
    env.update(PYTHONUNBUFFERED="1", DOZOR_DATA_DIR=str(workdir / "data"), DOZOR_RULES=str(RULES))
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--replay", "big.jsonl"], cwd=workdir, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)  # nothing read ahead
    head = b""
    while line := proc.stdout.readline():  # the first alert: the first batch is stored, the replay goes on
        head += line
        if line.startswith("● ".encode()):
            break
    proc.send_signal(signal.SIGTERM)
    rest, err = proc.communicate(timeout=120)
    out, err = (head + rest).decode("utf-8"), err.decode("utf-8", "replace")
    assert proc.returncode == 0, err
    assert out.rstrip().endswith("stopped; run again to continue") and "Traceback" not in err
    read = int(out.split("Replayed big.jsonl: ")[1].split(" post")[0].replace(",", ""))
    assert 0 < read < 6000
