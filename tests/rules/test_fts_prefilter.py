"""Query.fts_query over the lemma index (posts_lemmas) finds every post the query matches."""
import pytest

from bot.rules import compile_query
from bot.storage.history import indexed_post_ids
from bot.storage.lemma_index import refresh_lemma_index
from tests.factories import add_posts, make_post

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


@pytest.fixture
async def indexed(store) -> dict[int, int]:
    """TEXTS stored and lemma-indexed as the bot does it; post id -> index in TEXTS."""
    ids = await add_posts(store, [make_post(text=text) for text in TEXTS])
    await refresh_lemma_index(store)
    return {post_id: i for i, post_id in enumerate(ids)}


@pytest.mark.parametrize("query", QUERIES)
async def test_fts_query_finds_a_superset_of_matches(store, indexed, query):
    compiled = compile_query(query)
    matched = {i for i, text in enumerate(TEXTS) if compiled.matches_text(text)}
    fts = compiled.fts_query()
    assert fts is not None
    found = {indexed[post_id] for post_id in await indexed_post_ids(store, fts)}
    assert matched <= found


def test_pure_not_and_regex_have_no_prefilter():
    assert compile_query("NOT повестка").fts_query() is None
    assert compile_query("/повест/").fts_query() is None
