"""The digest splitter never cuts inside an HTML entity or tag: every part is valid Telegram HTML."""
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from telethon.extensions import html as telethon_html
from telethon.tl.types import MessageEntityBold, MessageEntityTextUrl

from bot.digest.render import split_message
from bot.formatting import escape

WELL_FORMED = re.compile(r"(?:<[^<>]*>|&#?\w+;|[^<>&])*")
TAG = re.compile(r"<(/?)(\w+)[^<>]*>")


def balanced(part: str) -> bool:
    stack = []
    for closing, name in TAG.findall(part):
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            return False
    return not stack


def assert_valid_parts(text: str, limit: int) -> list[str]:
    parts = split_message(text, limit)
    whole, _ = telethon_html.parse(text)
    shown = ""
    for part in parts:
        assert len(part) <= limit
        assert WELL_FORMED.fullmatch(part), part  # no cut tag, no cut entity
        assert balanced(part), part
        piece, entities = telethon_html.parse(part)
        assert all(e.offset >= 0 and e.length > 0 for e in entities)
        shown += piece
    assert re.sub(r"\s", "", shown) == re.sub(r"\s", "", whole)  # nothing lost, only cut spaces
    return parts


@pytest.mark.parametrize("line", [
    "x" + "&amp;" * 1000,                                    # entities only, cut not on a multiple of 5
    "<b>" + "&lt;слово&gt;" * 400 + "</b>",                   # one bold element longer than a message
    "<b>" + "слово " * 900 + "</b>",                          # bold text with spaces
    'Заголовок <a href="https://t.me/pskov/1">' + "→&quot;" * 700 + "</a>",
    "&#1234;" * 700,
])
def test_an_overlong_line_is_cut_only_between_tags_and_entities(line):
    parts = assert_valid_parts(line, 1000)
    assert len(parts) > 1


def test_bold_and_links_survive_the_cut_in_every_part():
    line = '<b>' + "слово " * 300 + '</b> <a href="https://t.me/pskov/1">' + "ссылка " * 300 + "</a>"
    parts = assert_valid_parts(line, 700)
    kinds = [{type(e) for e in telethon_html.parse(p)[1]} for p in parts]
    assert MessageEntityBold in kinds[0] and MessageEntityTextUrl in kinds[-1]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["", "b", "i", "a"]),
                          st.text(alphabet="аб<>&\" ;", min_size=0, max_size=60)), min_size=1, max_size=40),
       st.integers(min_value=60, max_value=400))
def test_any_digest_like_markup_splits_into_valid_parts(pieces, limit):
    markup = ""
    for tag, text in pieces:
        body = escape(text)
        if tag == "a":
            markup += f'<a href="{escape("https://t.me/x/1", quote=True)}">{body}</a>'
        elif tag:
            markup += f"<{tag}>{body}</{tag}>"
        else:
            markup += body
    assert_valid_parts(markup, limit)
