"""Property tests: the parser only ever raises our error; spans stay on their words;
any text can be matched."""
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from bot.models import RuleDef
from bot.rules import (RuleSyntaxError, compile_query, compile_rules, load_rule_file,
                       parse_rules_toml, rules_to_toml)
from bot.text import analyze

RULES = compile_rules(load_rule_file(Path(__file__).resolve().parents[2] / "config" / "rules.toml"))
QUERY_ALPHABET = st.sampled_from(list('абв xyz"()=*#/-|&\\') + ["AND", "OR", "NOT", "NEAR/2",
                                                               "ONEAR/1", "мобилиз*", " "])
WORDS = st.sampled_from(["повестка", "мoбилизация", "Дезер\u00adтиры", "памʼять", "вои\u0306на",
                         "#отказники_вдв", "СОЧ", "deserters", "🪖", "e\u0301", "1,5%"])
JUNK = st.sampled_from(["", " ", "\u200b", "\u00ad", "\u2060", "\ufeff", "\u200e", ", ", "\n", "’"])
CYRILLIC_TO_LATIN = str.maketrans("асеорхуівнкмт", "aceopxyibhkmt")  # look-alikes, lower case
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.one_of(st.text(max_size=40), st.lists(QUERY_ALPHABET, max_size=12).map("".join)))
def test_parser_returns_a_query_or_raises_rule_syntax_error(query):
    try:
        compile_query(query)
    except RuleSyntaxError as exc:
        assert exc.line >= 1 and exc.column >= 1 and str(exc)


@FAST
@given(st.lists(st.tuples(JUNK, WORDS), max_size=8))
def test_every_token_span_covers_exactly_its_word(parts):
    text = "".join(junk + word + " " for junk, word in parts)
    doc = analyze(text)
    for tok in doc.tokens:
        start, end = doc.original_span(tok.start, tok.end)
        again = analyze(text[start:end]).tokens
        # alone, a word spelled in Latin look-alikes is not folded as it is among Cyrillic words
        assert [t.lower for t in again] in ([tok.lower], [tok.lower.translate(CYRILLIC_TO_LATIN)])


@FAST
@given(st.text(max_size=300))
def test_any_text_matches_without_an_exception(text):
    for match in RULES.match_text(text):
        assert all(0 <= a <= b <= len(text) for a, b in match.spans)


TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)
NAME = st.from_regex(r"[a-z0-9_]{1,12}", fullmatch=True)


@FAST
@given(st.builds(
    RuleDef, id=st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,15}", fullmatch=True),
    query=TEXT.filter(lambda q: q.strip()), title=TEXT,
    exclude=st.none() | TEXT.filter(bool),
    tags=st.lists(NAME, max_size=3).map(tuple),
    channels_include=st.lists(NAME, max_size=2).map(tuple),
    channels_exclude=st.lists(NAME, max_size=2).map(tuple),
    langs=st.lists(st.sampled_from(["ru", "uk", "en"]), max_size=3, unique=True).map(tuple),
    severity=st.sampled_from(["high", "low"]), enabled=st.booleans()))
def test_exported_rules_read_back_the_same(rule):
    assert parse_rules_toml(rules_to_toml([rule])) == [rule]
