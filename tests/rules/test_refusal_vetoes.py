"""A veto tied to a refusal word ("refused to comment") must not cancel a clear
refusal elsewhere in the post ("refused to go back to the front line … has not
commented"), in the `refusals` rule itself and in the refusals topic (issue 14,
item 10; issue 16)."""
import json
from pathlib import Path

import pytest

from bot.rules import compile_rules, load_rule_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rules():
    return compile_rules(load_rule_file(ROOT / "config" / "rules.toml"))


def topics(rules, text):
    return {t for m in rules.match_text(text) for t in m.tags}


def sample_post(channel_title, post_id):
    for line in (ROOT / "bot" / "sample" / "posts.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("channel_title") == channel_title and row.get("id") == post_id:
            return row["text"]
    raise AssertionError(f"no sample post {channel_title} {post_id}")


def test_east_watch_1416_is_a_refusal_despite_has_not_commented(rules):
    text = sample_post("East Watch", 1416)
    assert "has not commented" in text
    assert "refusals" in {m.rule_id for m in rules.match_text(text)}
    assert "refusals" in topics(rules, text)


@pytest.mark.parametrize("text", [
    "Personnel refused to return to the front after their leave; the ministry did not respond"
    " to a request for comment.",
    "Десантники отказались возвращаться на позиции без ротации. В Минобороны на запрос не ответили.",
    "Военнослужащие отказались ехать в зону СВО, командование от комментариев отказалось.",
    "Бійці відмовилися виходити на позиції без ротації; у бригаді від коментарів відмовилися.",
])
def test_a_clear_refusal_survives_a_comment_elsewhere(rules, text):
    assert "refusals" in topics(rules, text)


@pytest.mark.parametrize("text", [
    "The general refused to comment on reports from the front line.",
    "Глава района отказался от комментариев о ситуации на фронте.",
    "Командир отказался отвечать на вопросы о потерях на передовой.",
])
def test_refusing_to_comment_is_still_no_refusal(rules, text):
    assert "refusals" not in topics(rules, text)


@pytest.mark.parametrize("text,refusal", [
    ("Беженцы отказались возвращаться в Украину, пока идёт война.", False),
    ("Контрактники отказались возвращаться на Украину после отпуска.", True),
    ("Військовослужбовці відмовилися повертатися в Україну після навчання в Польщі.", True),
])
def test_refusing_to_go_back_to_a_country_is_a_refusal_only_for_servicemen(rules, text, refusal):
    assert ("refusals" in topics(rules, text)) is refusal


@pytest.mark.parametrize("text", [
    "Soldiers refused to fight; the ministry refused to comment.",
    "Контрактники отказались продолжать службу, в военкомате отказались комментировать ситуацию.",
    "Мобилизованные отказались возвращаться на фронт. В Минобороны от комментариев отказались.",
    "Десантники отказались воевать, сообщили родственники. В части отказались от комментариев.",
])
def test_a_refusal_verb_right_before_what_is_refused_is_not_vetoed_by_a_no_comment_line(rules, text):
    assert "refusals" in {m.rule_id for m in rules.match_text(text)}


@pytest.mark.parametrize("text", [
    "В Минобороны отказались от комментариев по поводу ситуации на фронте.",
    "Губернатор отказался от комментариев о боевых действиях.",
    "The Kremlin refused to comment on the front line situation.",
    "Командир части отказался от комментариев. Солдаты продолжают службу.",
])
def test_no_comment_news_stays_quiet(rules, text):
    assert "refusals" not in topics(rules, text)
