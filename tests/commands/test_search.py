"""/search answers safely: links only through the one post-link function, hostile query syntax
gives an answer (never a crash), a subscriber's query holds at most one /regex/."""

import pytest
from telethon.extensions import html as telethon_html
from telethon.tl.types import MessageEntityTextUrl

from bot.commands import dispatch
from tests.commands.cmd_helpers import OPERATOR, SUBSCRIBER
from tests.factories import add_posts, make_post

HOSTILE_LINKS = ['https://t.me/x/1" onclick="alert(1)', "javascript:alert(1)",
                 'https://evil.example/"><b>x</b>', "https://t.me/abcd/1'><i>"]


def links_in(markup: str) -> list[str]:
    _, entities = telethon_html.parse(markup)
    return [e.url for e in entities if isinstance(e, MessageEntityTextUrl)]


@pytest.mark.parametrize("link", HOSTILE_LINKS)
async def test_search_result_links_come_from_the_post_link_function_not_the_stored_link(
        store, make_ctx, people, link):
    await add_posts(store, [make_post(text="Повестка пришла", channel="pskovgubernia", message_id=77,
                                      link=link)])
    reply = await dispatch(make_ctx(SUBSCRIBER), "/search повестка")
    assert links_in(reply.html) == ["https://t.me/pskovgubernia/77"]
    assert "onclick" not in reply.html and "javascript" not in reply.html and "evil" not in reply.html


async def test_a_search_result_of_a_made_up_replay_channel_has_no_link(store, make_ctx, people):
    await add_posts(store, [make_post(text="Повестка пришла", channel=None, channel_id=-9000000000123,
                                      link='x" onmouseover="y')])
    reply = await dispatch(make_ctx(SUBSCRIBER), "/search повестка")
    assert links_in(reply.html) == [] and "onmouseover" not in reply.html


async def test_a_backtest_shows_the_post_link_function_s_link_too(store, make_ctx, people):
    await add_posts(store, [make_post(text="Повестка пришла", channel="pskovgubernia", message_id=78,
                                      link="javascript:alert(1)")])
    reply = await dispatch(make_ctx(OPERATOR), "/backtest повестка")
    assert "https://t.me/pskovgubernia/78" in reply.html and "javascript" not in reply.html


async def test_a_search_with_two_regex_terms_is_refused_with_a_clear_error(store, make_ctx, people):
    reply = await dispatch(make_ctx(SUBSCRIBER), "/search " + " ".join([r"/((.)+)+\1\1\1\1\1\1\1/"] * 2))
    assert "a /search may hold at most one /regex/ term" in reply.html and "^" in reply.html


async def test_a_search_with_one_regex_term_runs(store, make_ctx, people):
    await add_posts(store, [make_post(text="Повестка пришла")])
    reply = await dispatch(make_ctx(SUBSCRIBER), r"/search /повест\w+/i")
    assert "Повестка пришла" in reply.html


async def test_a_search_that_runs_out_of_time_says_it_stopped(store, make_ctx, people, settings):
    await add_posts(store, [make_post(text="Повестка пришла")])
    ctx = make_ctx(SUBSCRIBER, settings=settings.replace(search_budget=0.0))
    reply = await dispatch(ctx, "/search повестка")
    assert "search stopped after 0 s" in reply.html


HOSTILE_FTS = ['"', 'NEAR(', "*", "col:x", 'повестка NEAR(военкомат', '"NEAR(" повестка', '"col:x"',
               "near", "повестка OR near/2", '"a""b"', "повестка*", "{повестка}", "^повестка", "повестка:*",
               '"повестка" AND "', "posts_lemmas:повестка", "lemmas:x", "rowid", "-", "NOT", "повестка NOT",
               '"*"', "a'b", "повестка'", "ʼ", "#", "#*", "=", "=*", "(", ")", "/", "//", "/(/"]


@pytest.mark.parametrize("query", HOSTILE_FTS)
async def test_hostile_fts5_syntax_in_search_and_backtest_gets_an_answer(store, make_ctx, people, query):
    await add_posts(store, [make_post(text="Повестка пришла из военкомата near col x")])
    for user, command in ((SUBSCRIBER, "/search"), (OPERATOR, "/backtest")):
        reply = await dispatch(make_ctx(user), f"{command} {query}")
        assert reply.html.strip(), (command, query)
        shown, _ = telethon_html.parse(reply.html)  # valid HTML for Telegram
        assert ("column" in shown and "^" in shown) or "Nothing found" in shown \
            or "Повестка" in shown or "Backtest of" in shown or "Write:" in shown \
            or "no rule with id" in shown, (command, query, shown)  # a word that looks like a rule id
