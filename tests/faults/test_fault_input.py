"""Bad input at volume: 10,000 hostile posts through the pipeline and the alert formatters,
1,000 malformed rules through the rule loader. Fixed seeds; a few seconds each.

Hostile posts mix invisible characters (soft hyphen, zero-width, bidi
overrides, BOM), Latin/Greek look-alikes inside Cyrillic words, combining
marks, markup (HTML, markdown, fake links), emoji (ZWJ sequences, flags, skin
tones), control characters, lone surrogates (JSON can escape them), and some
100 KB texts, around the words the default rules look for.
"""
from __future__ import annotations

import asyncio
import json
import random
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.delivery.alert_html import format_alert as telegram_html
from bot.models import Post
from bot.delivery.worker import OutboxWorker
from bot.pipeline import Pipeline
from bot.rules import RuleSyntaxError, compile_rules, load_rule_file, parse_rules_toml
from bot.delivery.local_sinks import JsonlSink, alert_record
from bot.delivery.local_sinks import format_alert as terminal_text
from bot.sources import ReadReport, read_posts
from bot.storage import Store
from bot.storage.outbox import count_by_status
from bot.storage.posts import matched_post_keys, matches_of, stored_counts
from bot.storage.rule_feedback import newest_posts
from bot.storage.subscribers import ensure_local_subscriber
from tests.factories import add_subscriber

REPO = Path(__file__).resolve().parents[2]
NOW = datetime(2024, 5, 2, 12, 0, tzinfo=timezone.utc)
POSTS, BIG_POSTS, RULES = 10_000, 12, 1_000
TELEGRAM_LIMIT = 4096

WORDS = ["мобилизация", "повестка", "повестки", "военкомат", "отказники", "СОЧ", "мобилизованных", "призыв",
         "повістки", "мобілізація", "mobilization", "draft", "погода", "Псков", "новости", "завод"]
INVISIBLE = ["\u00ad", "\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\u2069", "\u180e"]
LOOKALIKE = {"о": "o", "а": "a", "е": "e", "р": "p", "с": "c", "х": "x", "у": "y", "М": "M", "В": "B"}
MARKUP = ["<b>", "</b>", "</a>", '<a href="https://evil.example/x">', "&amp;", "&", "<", ">", "<!--", "**жирно**",
          "[ссылка](https://evil.example)", "`code`", "<script>alert(1)</script>", '"', "'", "<pre>", "\\"]
EMOJI = ["😀", "👨‍👩‍👧‍👦", "🇷🇺", "👍🏽", "🏳️‍🌈", "❤️", "🧑🏿‍🚀", "\U0001F9FF"]
OTHER = ["Ελληνικά", "عربى", "עברית", "中文", "й", "и\u0306", "Z\u0336\u0337a\u0358l\u0489", "\x00", "\x07", "\x1b[31m",
         "\x7f", "\x85", "\u2028", "\u2029", "\r\n", "\t", "\ud800", "\udfff", "𝐌𝐨𝐛𝐢𝐥", "ｍｏｂｉｌ", "#мобилизация_2024"]


def hostile_word(rng: random.Random) -> str:
    word = rng.choice(WORDS)
    roll = rng.random()
    if roll < 0.2:
        cut = rng.randrange(1, len(word))
        return word[:cut] + rng.choice(INVISIBLE) + word[cut:]
    if roll < 0.35:
        return "".join(LOOKALIKE.get(ch, ch) if rng.random() < 0.3 else ch for ch in word)
    if roll < 0.45:
        return rng.choice(MARKUP) + word + rng.choice(MARKUP)
    return word


def hostile_text(rng: random.Random, big: bool = False) -> str:
    pool = [INVISIBLE, MARKUP, EMOJI, OTHER]
    parts = []
    for _ in range(rng.randrange(1, 60)):
        parts.append(hostile_word(rng) if rng.random() < 0.4 else rng.choice(rng.choice(pool)))
        parts.append(rng.choice([" ", "", "\n", " . ", ", "]))
    text = "".join(parts)
    if big:
        text = (text + " ") * (100_000 // max(1, len(text) + 1) + 1)
    return text


def hostile_posts(seed: int = 8) -> list[Post]:
    rng = random.Random(seed)
    posts = []
    for i in range(POSTS):
        text = hostile_text(rng, big=i < BIG_POSTS)
        record = {"channel_id": -1001000000000 - i % 7, "channel_title": rng.choice(MARKUP + OTHER) + f" {i}",
                  "id": i + 1, "date": "2024-05-02T10:00:00+00:00", "text": text}
        posts.append(record)
    return posts


def posts_through_the_reader(records: list[dict], folder: Path) -> list[Post]:
    """Write the records as JSON lines (lone surrogates escaped, as JSON allows) and read them back."""
    path = folder / "hostile.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return list(read_posts(path, ReadReport(), NOW))


class FormattingSink:
    """Runs every formatter on each alert the worker hands over; keeps what they made."""

    def __init__(self, jsonl: JsonlSink):
        self.jsonl = jsonl
        self.outputs: list[tuple[str, str, str]] = []  # (telegram html, terminal text, post text)

    async def deliver(self, alert):
        html = telegram_html(alert, NOW, "Europe/Moscow", also_in=["@" + "<b>x</b>", "a&b"])
        terminal = terminal_text(alert, color=False) + terminal_text(alert, color=True)
        json.dumps(alert_record(alert), ensure_ascii=False).encode("utf-8")
        await self.jsonl.deliver(alert)
        self.outputs.append((html, terminal, alert.post.text))
        return None


async def run_hostile_posts(folder: Path) -> dict:
    records = hostile_posts()
    posts = posts_through_the_reader(records, folder)
    store = await Store.open(folder / "dozor.db")
    try:
        rules = compile_rules(load_rule_file(REPO / "config" / "rules.toml"))
        await ensure_local_subscriber(store, NOW)
        pipeline = Pipeline(store, rules, lambda: NOW)
        for start in range(0, len(posts), 500):
            await pipeline.on_posts(posts[start:start + 500])
        jsonl = JsonlSink(folder / "alerts.jsonl")
        sink = FormattingSink(jsonl)
        try:
            delivered = await OutboxWorker(store, lambda _s: sink, lambda: NOW, batch=1000).run_until_idle()
        finally:
            jsonl.close()
        every_post = await newest_posts(store, (await stored_counts(store))["posts"])
        stored = {p.message_id: p.text for p in every_post}
        by_key = {(p.channel_id, p.message_id): p for p in every_post}
        spans = [(by_key[key].text, match.spans) for key in await matched_post_keys(store)
                 for match in await matches_of(store, by_key[key].id)]
    finally:
        await store.close()
    return {"records": records, "posts": posts, "stored": stored, "delivered": delivered, "sink": sink,
            "spans": spans, "alerts_file": folder / "alerts.jsonl", "counts": pipeline.counts}


@pytest.fixture(scope="module")
def hostile_run():
    if not (REPO / "config" / "rules.toml").is_file():
        pytest.skip("config/rules.toml is missing")
    with tempfile.TemporaryDirectory() as folder:
        result = asyncio.run(run_hostile_posts(Path(folder)))
        result["alert_lines"] = result["alerts_file"].read_text(encoding="utf-8").split("\n")[:-1]
        yield result


def test_every_hostile_post_is_read_and_stored(hostile_run):
    assert len(hostile_run["posts"]) == POSTS
    assert len(hostile_run["stored"]) == POSTS


def test_hostile_text_is_stored_as_sent_except_lone_surrogates(hostile_run):
    for record in hostile_run["records"]:
        as_read = json.loads(json.dumps(record["text"]))  # JSON joins an escaped high+low pair into one character
        expected = "".join("\ufffd" if "\ud800" <= ch <= "\udfff" else ch for ch in as_read)
        assert hostile_run["stored"][record["id"]] == expected


def test_hostile_posts_match_and_every_match_is_alerted(hostile_run):
    counts = hostile_run["counts"]
    print(f"\n{counts.stored} hostile posts stored, {counts.matched} matched, {hostile_run['delivered']} alerts")
    assert counts.matched > POSTS // 10
    assert hostile_run["delivered"] == counts.enqueued == len(hostile_run["sink"].outputs)


def test_match_spans_stay_inside_the_post_text(hostile_run):
    for text, spans in hostile_run["spans"]:
        for start, end in spans:
            assert 0 <= start < end <= len(text)


def test_telegram_alerts_of_hostile_posts_parse_and_stay_under_the_limit(hostile_run):
    from telethon.extensions import html as telethon_html

    for html, _, _ in hostile_run["sink"].outputs:
        text, _entities = telethon_html.parse(html)
        assert len(text.encode("utf-16-le")) // 2 < TELEGRAM_LIMIT


def test_markup_in_hostile_posts_never_becomes_a_link_or_tag(hostile_run):
    from telethon.extensions import html as telethon_html
    from telethon.tl.types import MessageEntityTextUrl

    for html, _, _ in hostile_run["sink"].outputs:
        assert "<script" not in html and "evil.example/x\">" not in html
        _text, entities = telethon_html.parse(html)
        urls = [e.url for e in entities if isinstance(e, MessageEntityTextUrl)]
        assert all(u.startswith("https://t.me/") for u in urls), urls


def test_terminal_alerts_of_hostile_posts_hold_no_control_characters(hostile_run):
    for _, terminal, _ in hostile_run["sink"].outputs:
        plain = terminal.replace("\x1b[1;33m", "").replace("\x1b[0m", "").replace("\x1b[2m", "")
        assert not any(ch in plain for ch in "\x00\x07\x1b\x7f\u202e")


def test_jsonl_alerts_of_hostile_posts_are_one_valid_line_each(hostile_run):
    lines = hostile_run["alert_lines"]
    assert len(lines) == hostile_run["delivered"]
    assert all(json.loads(line)["post"]["text"] for line in lines)


# malformed rules

VALID_QUERIES = ['мобилизация', '"частичная мобилизация"', 'повестк* AND военкомат', 'повестка NEAR/5 военкомат',
                 '(мобилизация OR призыв) -учения', '#мобилизация', '=СОЧ OR отказник*', '/мобилиз\\w+/i',
                 'отказ* ONEAR/3 служ*', 'a | b & c']
BREAKERS = ['(', ')', '"', '/', '*', '-', '=', '#', '|', '&', 'AND', 'OR', 'NOT', 'NEAR', 'NEAR/', 'NEAR/x',
            '\\', '[', ']', '{', '}', '~', '^', '@', '!', '\x00', '\u200b', '/(?<', '/[a-/', '/x/zz', '(((', ')))']
FIELD_FAULTS = ['query = 5', 'query = ""', 'query = "   "', 'severity = "medium"', 'langs = ["de"]', 'tags = [1.5]',
                'enabled = "yes"', 'colour = "red"', 'channels = {a = 1}', 'title = ["x"]', 'exclude = "(("',
                'exclude = 7']
TOML_FAULTS = ['query = "unterminated', 'query = ', '[[rule]', 'id = "a" = "b"', 'query = \'\'\'', '= "x"',
               'query = "\\q"', '[[rule]]\n[[rule]]', 'rule = 1']


def broken_query(rng: random.Random) -> str:
    query = rng.choice(VALID_QUERIES)
    for _ in range(rng.randrange(1, 4)):
        at = rng.randrange(len(query) + 1)
        roll = rng.random()
        if roll < 0.6:
            query = query[:at] + rng.choice(BREAKERS) + query[at:]
        elif roll < 0.8:
            query = query[:at]
        else:
            query = query[:at] + query[at + 1:]
    return query


def malformed_rule_file(i: int, rng: random.Random) -> tuple[str, str]:
    """A rule file with a bad rule among good ones; returns (toml text, the bad rule's id)."""
    bad_id = f"bad_{i}"
    good = [f'[[rule]]\nid = "good_{i}_{n}"\nquery = {json.dumps(rng.choice(VALID_QUERIES))}\n' for n in range(3)]
    kind = i % 4
    if kind in (0, 1):
        bad = f'[[rule]]\nid = "{bad_id}"\nquery = {json.dumps(broken_query(rng))}\n'
    elif kind == 2:
        bad = f'[[rule]]\nid = "{bad_id}"\n{rng.choice(FIELD_FAULTS)}\n'
        if "query" not in bad:
            bad += 'query = "мобилизация"\n'
    else:
        bad = f'[[rule]]\nid = "{bad_id}"\n{rng.choice(TOML_FAULTS)}\n'
    good.insert(rng.randrange(len(good) + 1), bad)
    return "\n".join(good), bad_id


def load_outcome(text: str):
    """The RuleSyntaxError the loader raised, None if the rules were valid after all."""
    try:
        compile_rules(parse_rules_toml(text, "rules.toml"))
    except RuleSyntaxError as exc:
        return exc
    return None


@pytest.fixture(scope="module")
def rule_outcomes():
    rng = random.Random(1000)
    files = [malformed_rule_file(i, rng) for i in range(RULES)]
    return [(text, bad_id, load_outcome(text)) for text, bad_id in files]


def test_malformed_rules_raise_only_rule_syntax_errors(rule_outcomes):
    errors = sum(1 for *_, exc in rule_outcomes if exc is not None)
    print(f"\n{RULES} malformed rule files: {errors} RuleSyntaxError, {RULES - errors} valid after all")
    assert errors > RULES * 0.8


def test_every_rule_error_points_at_a_line_and_column_of_its_text(rule_outcomes):
    for _, _, exc in rule_outcomes:
        if exc is None or not exc.text:
            continue
        lines = exc.text.splitlines() or [""]
        assert 1 <= exc.line <= len(lines), str(exc)
        assert 1 <= exc.column <= len(lines[exc.line - 1]) + 1, str(exc)


def test_every_rule_error_past_toml_names_the_bad_rule(rule_outcomes):
    for text, bad_id, exc in rule_outcomes:
        if exc is None or exc.reason.startswith("TOML syntax"):
            continue
        assert exc.rule_id == bad_id, str(exc)


def test_every_rule_error_message_says_where(rule_outcomes):
    for _, _, exc in rule_outcomes:
        if exc is not None:
            assert f"line {exc.line}, column {exc.column}" in str(exc)


def test_a_lone_surrogate_in_a_replay_line_becomes_a_replacement_character(tmp_path):
    """Regression: json.loads keeps an escaped lone surrogate, which SQLite's UTF-8 cannot store."""
    path = tmp_path / "one.jsonl"
    path.write_text('{"id": 1, "channel_title": "\\udc00", "text": "\\ud800 мобилизация"}\n', encoding="utf-8")
    [post] = read_posts(path, ReadReport(), NOW)
    assert post.text == "\ufffd мобилизация" and post.channel_title == "\ufffd"


async def test_hostile_posts_go_through_the_telegram_alert_sink_without_a_failed_row(store):
    """The real TelegramAlertSink (shingles, repost grouping, alert log) on 500 hostile posts."""
    from telethon.extensions import html as telethon_html

    from bot.delivery.telegram_sink import TelegramAlertSink
    from bot.settings import load_settings
    from tests.fakes import FakeSender

    records = hostile_posts(seed=9)[BIG_POSTS:BIG_POSTS + 500]
    with tempfile.TemporaryDirectory() as folder:
        posts = posts_through_the_reader(records, Path(folder))

    await add_subscriber(store, 77, tz="UTC", created=datetime(2024, 5, 1, tzinfo=timezone.utc))
    await Pipeline(store, compile_rules(load_rule_file(REPO / "config" / "rules.toml")), lambda: NOW).on_posts(posts)
    sender = FakeSender()
    sink = TelegramAlertSink(store, sender, load_settings(env={}, env_file=None, config_file=None), clock=lambda: NOW)
    await OutboxWorker(store, lambda _s: sink, lambda: NOW, batch=1000).run_until_idle()
    statuses = await count_by_status(store)
    assert set(statuses) == {"sent"} and statuses["sent"] > 100
    for message in sender.sent:
        text, _ = telethon_html.parse(message.html)
        assert len(text.encode("utf-16-le")) // 2 < TELEGRAM_LIMIT


def test_regex_rule_covers_exactly_the_tokens_its_matches_touch_on_hostile_text():
    """Regression: Regex.evaluate scanned every token for every match (quadratic: /\\d+/ on a 100 KB post
    took seconds, blocking the event loop); it now bisects. The tokens it reports must not change."""
    from bot.rules.nodes import Regex
    from bot.text import analyze

    rng = random.Random(11)
    for pattern in (r"\d+", r"[а-я]+", r"о", r"\b", r"\s+", r"мобилиз\w*"):
        node = Regex(pattern, "i")
        for _ in range(20):
            doc = analyze(hostile_text(rng))
            for a, b, start, end in node.evaluate(doc) or []:
                inside = [i for i, t in enumerate(doc.tokens) if t.end > start and t.start < end]
                assert (a, b) == ((inside[0], inside[-1] + 1) if inside else (0, 0))
