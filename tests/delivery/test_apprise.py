"""Apprise subscribers: alerts as e-mail to a real SMTP server on 127.0.0.1 (aiosmtpd), through Apprise.

Real Pipeline, store and DeliveryLanes; Apprise's own mailto:// plugin talks SMTP
to tests/servers/smtp_receiver.py. No other network.
"""
from __future__ import annotations

from bot.models import Deletion
from bot.storage.outbox import count_by_status, outbox_rows
from tests.delivery.target_helpers import MATCHING, TargetDelivery, add_apprise
from tests.factories import make_post
from tests.servers.smtp_receiver import SmtpReceiver, free_port


def mail_url(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?to=desk@example.org&from=dozor@example.org"


async def test_an_alert_arrives_as_an_email_with_the_excerpt_and_link(store):
    with SmtpReceiver() as smtp:
        await add_apprise(store, mail_url(smtp.port))
        run = TargetDelivery(store)
        await run.pipeline.on_post(make_post(message_id=7, text=MATCHING, channel="pskovgubernia",
                                             channel_title="Псковская губерния"))
        assert await run.deliver() == 1
        await run.close()
    [mail] = smtp.messages
    assert mail["To"] == "desk@example.org"
    assert mail["Subject"].startswith("Dozor: ") and "Псковская губерния" in mail["Subject"]
    body = smtp.text()
    assert "**мобилиз**ация" in body and "https://t.me/pskovgubernia/7" in body


async def test_a_deletion_is_mailed_but_an_edit_that_still_matches_is_not(store):
    with SmtpReceiver() as smtp:
        await add_apprise(store, mail_url(smtp.port))
        run = TargetDelivery(store)
        post = make_post(message_id=7, text=MATCHING)
        await run.pipeline.on_post(post)
        await run.deliver()
        await run.pipeline.on_edit(make_post(message_id=7, text=MATCHING + " Уточнение."))
        await run.deliver()
        await run.pipeline.on_delete(Deletion(post.channel_id, (7,), run.clock.now()))
        await run.deliver()
        await run.close()
    assert len(smtp.messages) == 2 and "deleted by the channel" in smtp.messages[1]["Subject"]
    assert await count_by_status(store) == {"sent": 3}


async def test_an_unreachable_mail_server_is_a_failure_retried_later(store):
    url = mail_url(free_port())  # nothing listens there
    await add_apprise(store, url)
    run = TargetDelivery(store)
    await run.pipeline.on_post(make_post(text=MATCHING))
    assert await run.deliver() == 0
    await run.close()
    [row] = await outbox_rows(store)
    assert row["status"] == "pending" and row["attempts"] == 1
    assert "Apprise could not deliver" in row["last_error"] and url not in row["last_error"]
