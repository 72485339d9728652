"""The daily digest for webhook and Apprise subscribers: a "digest" event, or a text with the chart attached.

`digest_event(digest, key, day)` is pure: the JSON object a webhook receives
(schema in docs/WEBHOOKS.md, same SCHEMA_VERSION as alerts): the period with
its zone, the counts per rule and topic, the top stories (channel, link,
excerpt, views/forwards/reach when known) and the chart's numbers (14 daily
windows per topic) instead of its picture, so the body stays small.
`digest_apprise_text(digest)` is the title "Dozor digest DD.MM–DD.MM" and the
plain-text digest; the chart PNG goes with it as an attachment, which Apprise
sends where the service takes attachments (e-mail, Discord, Slack, ntfy, …)
and leaves out elsewhere.

`target_digest_message(...)` makes the one TargetMessage of a subscriber's
digest; its idempotency key is "digest-<subscriber id>-<day>", the same on a
retry. bot/digest/jobs.py sends it once per subscriber and day.
"""
from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

from bot.digest.build import CountLine, Digest, Story
from bot.digest.render import render_text, story_excerpt
from bot.delivery.webhook import SCHEMA_VERSION, TargetMessage
from bot.formatting import post_link
from bot.models import DeliveryTarget, SubscriberKind

DIGEST = "digest"
CHART_NAME = "dozor-digest.png"


def digest_key(subscriber_id: int, day: date) -> str:
    """The digest's Idempotency-Key: one per subscriber and day."""
    return f"digest-{subscriber_id}-{day.isoformat()}"


def period_dates(digest: Digest) -> str:
    """"DD.MM–DD.MM": the first and last local day the digest covers."""
    zone = ZoneInfo(digest.tz)
    first = digest.start.astimezone(zone)
    last = (digest.end - timedelta(seconds=1)).astimezone(zone)
    return f"{first:%d.%m}–{last:%d.%m}"


def _count(line: CountLine) -> dict:
    return {"id": line.key, "title": line.label, "count": line.count, "previous": line.previous,
            "average": round(line.average, 2) if line.average is not None else None}


def _story(story: Story) -> dict:
    first = story.first
    return {
        "channel": {"id": first.channel_id, "username": first.channel, "title": first.channel_title},
        "link": post_link(first.channel_id, first.message_id, first.channel, first.link),
        "date": first.date.isoformat(),
        "excerpt": story_excerpt(first.text),
        "posts": len(story.posts),
        "channels": story.channel_count,
        "rules": list(story.rules),
        "views": story.views if any(p.views is not None for p in story.posts) else None,
        "forwards": story.forwards if any(p.forwards is not None for p in story.posts) else None,
        "reach": story.reach or None,
    }


def digest_event(digest: Digest, key: str, day: date) -> dict:
    """The JSON object of a daily digest (event "digest")."""
    return {
        "version": SCHEMA_VERSION,
        "event": DIGEST,
        "id": key,
        "day": day.isoformat(),
        "period": {"start": digest.start.isoformat(), "end": digest.end.isoformat(), "tz": digest.tz},
        "posts_read": digest.posts_read,
        "posts_matched": digest.posts_matched,
        "rules": [_count(line) for line in digest.rules],
        "topics": [_count(line) for line in digest.topics],
        "channels": [{"name": name, "posts": count} for name, count in digest.channels],
        "stories": [_story(story) for story in digest.stories],
        "story_count": digest.story_count,
        "deleted": len(digest.deleted),
        "chart": {
            "windows": [[start.isoformat(), end.isoformat()] for start, end in digest.chart_windows],
            "series": {topic: list(values) for topic, values in digest.chart_series.items()},
        },
    }


def digest_apprise_text(digest: Digest) -> tuple[str, str]:
    """(title, body) of the digest for an Apprise target."""
    return f"Dozor digest {period_dates(digest)}", render_text(digest)


def has_chart(digest: Digest) -> bool:
    """The chart is worth sending when the 14 days had any match (as for Telegram)."""
    return any(sum(values) for values in digest.chart_series.values())


def target_digest_message(digest: Digest, target: DeliveryTarget, chat_id: int, day: date,
                          chart: bytes | None) -> TargetMessage:
    """The one message of a target's digest; `chart` (PNG) is attached for Apprise only."""
    key = digest_key(target.subscriber_id, day)
    event = digest_event(digest, key, day)
    if target.kind != SubscriberKind.APPRISE:
        return TargetMessage(chat_id, target, key, event)
    title, body = digest_apprise_text(digest)
    return TargetMessage(chat_id, target, key, event, title, body, attachment=chart,
                         attachment_name=CHART_NAME if chart else "")
