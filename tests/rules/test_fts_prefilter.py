"""Query.fts_query over a column of lemma_text finds every post the query matches."""
import sqlite3

import pytest

from bot.rules import compile_query
from bot.text import lemma_text

TEXTS = [
    "Военкомат рассылает повестки мужчинам до 50 лет.",
    "Солдаты отказались воевать и вернулись домой.",
    "Жёны мобилизованных требуют вернуть мужей.",
    "В повестке дня — бюджет.",
    "Дезер\u00adтиры из части под Сочи.",
    "Several paratroopers refused to return; deserters were caught.",
    "ТЦК вручають повістки, пам’ять героїв.",
    'Фраза с "кавычками" и звёздочкой*.',
    "#повестки_2024 пришли",
]
QUERIES = ["повестка", "мобилиз*", '"повестка дня"', "отказаться NEAR/3 воевать",
           "refuse OR deserter", "повістка & тцк", "дезертир -сочи", "=СОЧ OR пам'ять",
           '"кавычками"', "#тег OR мужчина", "#повестки", "#повестки_2024"]


@pytest.fixture(scope="module")
def db():
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE t USING fts5(lemmas)")
    conn.executemany("INSERT INTO t(rowid, lemmas) VALUES (?, ?)",
                     [(i, lemma_text(text)) for i, text in enumerate(TEXTS)])
    return conn


@pytest.mark.parametrize("query", QUERIES)
def test_fts_query_finds_a_superset_of_matches(db, query):
    compiled = compile_query(query)
    matched = {i for i, text in enumerate(TEXTS) if compiled.matches_text(text)}
    fts = compiled.fts_query()
    assert fts is not None
    found = {row[0] for row in db.execute("SELECT rowid FROM t WHERE t MATCH ?", (fts,))}
    assert matched <= found


def test_pure_not_and_regex_have_no_prefilter():
    assert compile_query("NOT повестка").fts_query() is None
    assert compile_query("/повест/").fts_query() is None
