"""LocalStories: the replay's sinks group reposts by bot/stories.py within the window."""
from __future__ import annotations

from datetime import timedelta

from bot.delivery.local_stories import LocalStories
from bot.models import Alert, Match, Subscriber
from tests.factories import make_post

STORY = ("В Пскове военкомат начал раздавать повестки мужчинам прямо у проходной завода, очевидцы "
         "рассказывают что повестки вручали всем подряд")
LOCAL = Subscriber(id=1, chat_id=0, kind="local")


def alert(post, subscriber=LOCAL) -> Alert:
    return Alert(outbox_id=0, subscriber=subscriber, post=post, matches=(Match("r", spans=((0, 1),)),))


def test_a_repost_joins_the_first_post_and_a_new_story_starts_its_own():
    stories = LocalStories(0.7, timedelta(hours=24))
    first = make_post(text=STORY)
    assert stories.place(alert(first)) is None
    assert stories.place(alert(make_post(channel="other", text="Срочно! " + STORY))) == first
    assert stories.place(alert(make_post(text="Совсем другая новость про погоду в Пскове и области сегодня"))) is None


def test_asking_again_about_a_post_gives_the_same_answer():
    stories = LocalStories(0.7, timedelta(hours=24))
    first, copy = make_post(text=STORY), make_post(text=STORY + " Подписывайтесь")
    stories.place(alert(first))
    assert stories.place(alert(copy)) == first and stories.place(alert(copy)) == first
    assert stories.place(alert(first)) is None


def test_reposts_outside_the_window_or_to_another_subscriber_stand_alone():
    stories = LocalStories(0.7, timedelta(hours=24))
    first = make_post(text=STORY)
    stories.place(alert(first))
    late = make_post(text=STORY, date=first.date + timedelta(hours=25))
    assert stories.place(alert(late)) is None
    other = Subscriber(id=2, chat_id=-5, kind="local")
    assert stories.place(alert(make_post(text=STORY), other)) is None
