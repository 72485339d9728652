"""One story, three readers: the replay's terminal and JSONL sinks, the dry-run alert sink and the
digest group a post and its reworded reposts the same way (bot/stories.py's rule, one threshold),
and the sinks word the story's other channels with the one "also in N channels: …" line."""
from __future__ import annotations

import argparse
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone

import pytest

from bot.app.replay import run_replay
from bot.digest.build import build_digest
from bot.settings import load_settings
from bot.storage import alert_log
from bot.storage.db import Store
from bot.storage.digests import load_digest_data
from bot.storage.subscribers import ensure_local_subscriber

STORY = ("В Пскове военкомат начал раздавать повестки мужчинам прямо у проходной завода, очевидцы "
         "рассказывают что повестки вручали всем подряд без проверки документов и возраста сегодня утром")
POSTS = [  # (channel, id, minutes after 09:00 UTC, text)
    ("pskovgub", 11, 0, STORY),
    ("tverinfo", 22, 5, "Срочно! " + STORY + " Подписывайтесь @tverinfo"),
    ("ryazan24", 33, 10, "Мобилизация в Рязани: военкомат объявил новые сборы резервистов на следующей "
                         "неделе по всей области, явка обязательна"),
    ("severnews", 44, 20, STORY.replace("сегодня утром", "утром в понедельник")),
]
EXPECTED = {frozenset({"pskovgub", "tverinfo", "severnews"}), frozenset({"ryazan24"})}
START = datetime(2024, 5, 13, 9, 0, tzinfo=timezone.utc)
RULES = '[[rule]]\nid = "callups"\ntitle = "Call-ups"\nquery = "военкомат"\n'


@pytest.fixture
def replay_files(tmp_path):
    posts = tmp_path / "story.jsonl"
    posts.write_text("".join(json.dumps({
        "channel": channel, "id": message_id, "text": text,
        "date": (START + timedelta(minutes=minutes)).isoformat(),
    }, ensure_ascii=False) + "\n" for channel, message_id, minutes, text in POSTS), encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    return posts, rules


async def replay(tmp_path, posts, rules, name: str, dry_run: bool, env: dict[str, str]):
    env = {"DOZOR_DATA_DIR": str(tmp_path / name), "DOZOR_RULES": str(rules), **env}
    settings = load_settings(env=env, env_file=None, config_file=None)
    alerts_to = tmp_path / name / "alerts.jsonl"
    args = argparse.Namespace(replay=posts, alerts_to=alerts_to, dry_run=dry_run)
    assert await run_replay(args, settings) == 0
    return settings, alerts_to


def terminal_groups(out: str) -> set[frozenset[str]]:
    """A full alert and the channels its "also in" line names are one story; a later repost line
    ("… · new: @x · … (story: y, …)") joins the story it names."""
    groups: dict[str, set[str]] = defaultdict(set)
    for block in out.split("\n\n"):
        head = re.match(r"● (\w+) ·", block)
        if head:
            groups[head[1]].add(head[1])
            also = re.search(r"^  🔁 also in \d+ channels?: (.*)$", block, re.M)
            groups[head[1]].update(name.lstrip("@") for name in (also[1].split(", ") if also else ()))
    for channel, story in re.findall(r"^  🔁 also in .* · new: (\w+) · .*\(story: (\w+),", out, re.M):
        groups[story].add(channel)
    return {frozenset(g) for g in groups.values()}


def jsonl_groups(path) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for line in path.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        groups[record["story"]["channel"]].add(record["post"]["channel"])
    return {frozenset(g) for g in groups.values()}


async def dry_run_groups(store: Store) -> tuple[set[frozenset[str]], int]:
    """Stories of the alert log (one alert message each) and the number of messages sent."""
    local = await ensure_local_subscriber(store, START)
    rows = await alert_log.recent_story_posts(store, local.id, START - timedelta(days=1), START + timedelta(days=1))
    groups: dict[int, set[str]] = defaultdict(set)
    for row in rows:
        groups[row["alert_id"]].add(row["channel"])
    return {frozenset(g) for g in groups.values()}, len(groups)


async def digest_groups(store: Store, threshold: float) -> set[frozenset[str]]:
    data = await load_digest_data(store, START, START + timedelta(days=1))
    digest = build_digest(data, START + timedelta(days=1), "UTC", threshold)
    return {frozenset(p.channel for p in story.posts) for story in digest.stories}


ALONE = {frozenset({channel}) for channel, *_ in POSTS}


@pytest.mark.parametrize("threshold, expected", [(None, EXPECTED), ("0.99", ALONE)])
async def test_replay_dry_run_and_digest_group_reposts_alike(tmp_path, replay_files, capsys, threshold, expected):
    posts, rules = replay_files
    env = {"DOZOR_DEDUP_THRESHOLD": threshold} if threshold else {}

    settings, alerts_to = await replay(tmp_path, posts, rules, "terminal", False, env)
    out = capsys.readouterr().out
    assert terminal_groups(out) == expected
    assert out.count("● ") == len(expected)
    assert jsonl_groups(alerts_to) == expected
    store = await Store.open(settings.db_path)
    try:
        assert await digest_groups(store, settings.dedup_threshold) == expected
    finally:
        await store.close()

    settings, alerts_to = await replay(tmp_path, posts, rules, "dry-run", True, env)
    out = capsys.readouterr().out
    assert jsonl_groups(alerts_to) == expected
    store = await Store.open(settings.db_path)
    try:
        groups, messages = await dry_run_groups(store)
    finally:
        await store.close()
    assert groups == expected and messages == len(expected)
    assert len(re.findall(r"^--- to chat 0: message \d+", out, re.M)) == len(expected)


async def test_the_replayed_digest_names_the_story_once_with_its_channels(tmp_path, replay_files, capsys):
    posts, rules = replay_files
    await replay(tmp_path, posts, rules, "digest", False, {})
    out = capsys.readouterr().out
    assert "(pskovgub + 2 more, 3 channels)" in out and out.count("(ryazan24)") == 1


FOUR = [("pskovgub", 1, 0, STORY)] + [
    (channel, n, 5 * n, "Срочно! " + STORY + f" Подписывайтесь @{channel}")
    for n, channel in enumerate(("tverinfo", "ryazan24", "severnews"), start=2)
]


async def test_a_repost_in_four_channels_is_one_alert_also_in_3_channels_in_every_sink(tmp_path, capsys):
    posts = tmp_path / "four.jsonl"
    posts.write_text("".join(json.dumps({"channel": c, "id": i, "text": t,
                                         "date": (START + timedelta(minutes=m)).isoformat()},
                                        ensure_ascii=False) + "\n" for c, i, m, t in FOUR), encoding="utf-8")
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    also = "🔁 also in 3 channels: @tverinfo, @ryazan24, @severnews"

    settings, alerts_to = await replay(tmp_path, posts, rules, "terminal", False, {})
    out = capsys.readouterr().out
    assert out.count("● ") == 1 and out.count(also) == 1 and "new: " not in out
    records = [json.loads(line) for line in alerts_to.read_text(encoding="utf-8").splitlines()]
    assert {r["story"]["channel"] for r in records} == {"pskovgub"}
    assert records[-1]["also_in"]["text"] == also
    assert records[-1]["also_in"]["channels"] == ["@tverinfo", "@ryazan24", "@severnews"]
    stories = out.split("Top stories")[1]
    assert "1. " in stories and "2. " not in stories and "(pskovgub + 3 more, 4 channels)" in stories
    store = await Store.open(settings.db_path)
    try:
        assert await digest_groups(store, settings.dedup_threshold) == {frozenset(c for c, *_ in FOUR)}
    finally:
        await store.close()

    await replay(tmp_path, posts, rules, "dry-run", True, {})
    out = capsys.readouterr().out
    assert len(re.findall(r"^--- to chat 0: message \d+", out, re.M)) == 1
    assert also in re.sub(r"<[^>]+>", "", out.split("--- to chat 0")[-1])  # the alert's last edit, as text
