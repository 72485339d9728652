"""send_digest: what goes out, the once-only record, time zones."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from bot.digest.jobs import digest_period, last_due_day, send_digest

DAY = date(2024, 5, 10)
NOW = datetime(2024, 5, 10, 6, 0, 5, tzinfo=timezone.utc)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


async def test_digest_is_sent_as_html_text_then_chart_photo(store, rows, sender):
    sub = await rows.subscriber()
    await rows.matched_post(utc(2024, 5, 9, 12), text="Повестки <раздают> у метро")
    assert await send_digest(store, sender, sub, DAY, NOW) is True
    texts = [m for m in sender.to(sub.chat_id) if m.photo is None]
    photos = [m for m in sender.to(sub.chat_id) if m.photo is not None]
    assert "&lt;раздают&gt;" in texts[0].html
    assert len(photos) == 1 and photos[0].photo.startswith(b"\x89PNG")
    assert all(len(m.html) <= 1024 for m in photos)  # Telegram's caption limit


async def test_second_send_for_the_same_day_returns_false_and_sends_nothing(store, rows, sender):
    sub = await rows.subscriber()
    await send_digest(store, sender, sub, DAY, NOW)
    count = len(sender.sent)
    assert await send_digest(store, sender, sub, DAY, NOW) is False
    assert len(sender.sent) == count


async def test_empty_day_sends_one_line_and_no_chart(store, rows, sender):
    sub = await rows.subscriber()
    await send_digest(store, sender, sub, DAY, NOW)
    assert len(sender.sent) == 1 and "no matches" in sender.sent[0].html


async def test_failed_send_releases_the_record_so_a_retry_sends(store, rows, sender):
    sub = await rows.subscriber()
    sender.fail(sub.chat_id, TimeoutError())
    with pytest.raises(TimeoutError):
        await send_digest(store, sender, sub, DAY, NOW)
    assert await send_digest(store, sender, sub, DAY, NOW) is True


async def test_long_digest_is_split_into_messages_under_4096(store, rows, sender):
    sub = await rows.subscriber()
    for n in range(120):  # many rules with long titles make a long "By rule" section
        await rows.rule(f"rule{n}", f"Очень длинное название правила номер {n} " * 3, (f"topic{n}",))
        await rows.matched_post(utc(2024, 5, 9, 8) + timedelta(minutes=n), rule_id=f"rule{n}",
                                tags=(f"topic{n}",), text=f"новость {n}", channel_id=-1000 - n)
    await send_digest(store, sender, sub, DAY, NOW)
    texts = [m.html for m in sender.sent if m.photo is None]
    assert len(texts) > 1 and all(len(t) <= 4096 for t in texts)
    assert all(t.count("<b>") == t.count("</b>") for t in texts)  # no tag cut in half


async def test_vladivostok_digest_covers_24_hours_to_its_local_nine():
    start, end = digest_period(DAY, "09:00", "Asia/Vladivostok")
    assert end.astimezone(timezone.utc) == utc(2024, 5, 9, 23)
    assert end - start == timedelta(days=1)


async def test_vladivostok_subscriber_gets_posts_of_its_own_day(store, rows, sender):
    sub = await rows.subscriber(tz="Asia/Vladivostok")
    await rows.matched_post(utc(2024, 5, 9, 22), text="внутри")  # 08:00 on the 10th in Vladivostok
    await rows.matched_post(utc(2024, 5, 9, 23, 30), text="снаружи")  # after its 09:00
    await send_digest(store, sender, sub, DAY, utc(2024, 5, 9, 23))
    assert "внутри" in sender.sent[0].html and "снаружи" not in sender.sent[0].html


def test_last_due_day_is_yesterday_before_the_digest_time():
    assert last_due_day(utc(2024, 5, 10, 5, 59), "09:00", "Europe/Moscow") == date(2024, 5, 9)
    assert last_due_day(utc(2024, 5, 10, 6, 0), "09:00", "Europe/Moscow") == date(2024, 5, 10)


async def test_digest_command_returns_html_without_recording_the_day(store, rows):
    from bot.digest.jobs import digest_command
    from bot.storage.digests import digest_was_sent
    sub = await rows.subscriber()
    await rows.matched_post(utc(2024, 5, 9, 12), text="Повестки & ТЦК")
    text = await digest_command(store, lambda: NOW)(sub, DAY)
    assert "Повестки &amp; ТЦК" in text
    assert not await digest_was_sent(store, sub.id, DAY)


def test_a_calendar_day_digest_covers_the_day_before_it_is_due_from_midnight_to_midnight():
    start, end = digest_period(DAY, "09:00", "Europe/Moscow", calendar_day=True)
    assert (start.isoformat(), end.isoformat()) == ("2024-05-09T00:00:00+03:00", "2024-05-10T00:00:00+03:00")


async def test_a_subscriber_set_to_calendar_days_gets_the_whole_day_before(store, rows, sender):
    from bot.storage import access
    from bot.storage.subscribers import subscriber_by_id
    sub = await rows.subscriber()
    await store.write(lambda c: access.update_subscriber(c, sub.chat_id, "test", NOW, "subscriber.digest_calendar_day",
                                                         digest_calendar_day=1))
    sub = await subscriber_by_id(store, sub.id)
    await rows.matched_post(utc(2024, 5, 8, 22), text="позавчера")  # 01:00 on the 9th in Moscow
    await rows.matched_post(utc(2024, 5, 9, 20, 30), text="вечером")  # 23:30 on the 9th
    await rows.matched_post(utc(2024, 5, 9, 21, 30), text="после полуночи")  # 00:30 on the 10th
    assert sub.digest_calendar_day and await send_digest(store, sender, sub, DAY, NOW)
    html = sender.sent[0].html
    assert "09.05.2024 00:00 – 10.05.2024 00:00" in html
    assert "позавчера" in html and "вечером" in html and "после полуночи" not in html


async def test_the_chart_caption_names_the_period_with_its_year_and_zone(store, rows, sender):
    sub = await rows.subscriber()
    await rows.matched_post(utc(2024, 5, 9, 12), text="Повестки у метро")
    await send_digest(store, sender, sub, DAY, NOW)
    photo = [m for m in sender.sent if m.photo is not None][0]
    assert photo.html == "Matched posts per topic, 26.04 09:00 – 10.05.2024 09:00 (Europe/Moscow)"
