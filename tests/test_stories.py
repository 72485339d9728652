"""bot/stories.py: copies of a story across channels are recognised; different posts are not."""
from __future__ import annotations

from hypothesis import given, settings as hypothesis_settings
from hypothesis import strategies as st

from bot.stories import origin, pack, same_origin, shingles, similarity, unpack
from tests.factories import make_post

STORY = ("В Псковской области объявили частичную мобилизацию резервистов, повестки раздают "
         "прямо у проходной завода, сообщают местные жители")


def test_copy_with_a_header_and_a_link_is_nearly_the_same():
    copy = "❗️Срочно: " + STORY.replace("ё", "е") + "\n\nПодписывайтесь: https://t.me/other @other"
    assert similarity(shingles(STORY), shingles(copy)) >= 0.7


def test_invisible_characters_and_case_do_not_matter():
    copy = STORY.upper().replace("мобилизацию".upper(), "МОБИ\u00adЛИЗАЦИЮ")
    assert similarity(shingles(STORY), shingles(copy)) == 1.0


def test_a_different_story_on_the_same_topic_is_not_similar():
    other = "В Пскове прошёл митинг против мобилизации, задержаны трое участников, сообщают правозащитники"
    assert similarity(shingles(STORY), shingles(other)) < 0.3


def test_short_texts_never_group_by_text():
    assert shingles("Срочно! Мобилизация") == frozenset()
    assert similarity(shingles("Срочно! Мобилизация"), shingles("Срочно! Мобилизация")) == 0.0


def test_packed_shingles_round_trip():
    sig = shingles(STORY)
    assert unpack(pack(sig)) == sig


def test_a_forward_shares_the_origin_of_its_source():
    source = make_post(channel_id=-1001, message_id=10)
    forward = make_post(channel_id=-1002, message_id=77, fwd_from_channel_id=-1001, fwd_from_message_id=10)
    assert origin(forward) == (-1001, 10)
    assert same_origin(forward, (source.channel_id, source.message_id), None)
    assert same_origin(source, (forward.channel_id, forward.message_id), (-1001, 10))


def test_two_forwards_of_one_post_share_an_origin():
    first = make_post(channel_id=-1002, message_id=5, fwd_from_channel_id=-1001, fwd_from_message_id=10)
    assert same_origin(first, (-1003, 8), (-1001, 10))


def test_unrelated_posts_do_not_share_an_origin():
    post = make_post(channel_id=-1002, message_id=5)
    assert not same_origin(post, (-1003, 5), None)


def _posts(texts):
    return [make_post(message_id=n, text=t) for n, t in enumerate(texts, 1)]


def test_group_posts_joins_copies_and_forwards_and_leaves_other_posts_alone():
    from bot.stories import group_posts

    posts = _posts([STORY, "Срочно: " + STORY, "В Пскове прошёл митинг против мобилизации, задержаны трое"])
    forward = make_post(message_id=99, text="", channel_id=-1002, fwd_from_channel_id=posts[2].channel_id,
                        fwd_from_message_id=posts[2].message_id)
    groups = group_posts([*posts, forward], 0.7)
    assert [[p.message_id for p in g] for g in groups] == [[1, 2], [3, 99]]


@hypothesis_settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.sampled_from("а б в г д е ж з".split()), min_size=6, max_size=12), max_size=8),
       st.sampled_from([0.3, 0.5, 0.6, 0.7, 0.9]))
def test_group_posts_misses_no_pair_that_reaches_the_threshold(word_lists, threshold):
    from bot.stories import group_posts

    posts = _posts([" ".join(words) for words in word_lists])
    groups = group_posts(posts, threshold)
    story_of = {p.message_id: n for n, g in enumerate(groups) for p in g}
    for a in posts:
        for b in posts:
            if similarity(shingles(a.text), shingles(b.text)) >= threshold:
                assert story_of[a.message_id] == story_of[b.message_id]


def test_other_channels_names_each_other_channel_once_and_skips_the_first_posts_own():
    from bot.formatting import also_in_text
    from bot.stories import other_channels
    from tests.factories import make_post

    first = make_post(channel="pskov", channel_id=-1)
    copies = [make_post(channel="pskov", channel_id=-1), make_post(channel="tver", channel_id=-2),
              make_post(channel="tver", channel_id=-2), make_post(channel="ryazan", channel_id=-3)]
    found = other_channels(first, copies)
    assert [p.channel for p in found] == ["tver", "ryazan"]
    assert also_in_text([f"@{p.channel}" for p in found]) == "🔁 also in 2 channels: @tver, @ryazan"
    assert also_in_text([]) == "🔁 posted again in this channel"
    assert also_in_text([f"@c{i}" for i in range(12)], limit=10).endswith("@c9, +2 more")
