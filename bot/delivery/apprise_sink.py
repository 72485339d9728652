"""Apprise targets: the plain-text alert and the transport that hands it to the Apprise library.

Apprise (one maintained library) speaks e-mail (mailto://), Slack, Matrix,
ntfy, Discord and ~100 more; a subscriber of kind 'apprise' holds one Apprise
URL. `apprise_text(event)` renders the webhook event (bot/delivery/webhook.py)
as a title and a short text body; `AppriseTransport.send(message)` notifies
with a timeout (DOZOR_TARGET_TIMEOUT) and raises DeliveryFailed when Apprise
reports a failure (its log lines, scrubbed of the URL, say why).
Apprise cannot edit what it sent, so of the follow-ups only "deleted" and
"no longer matches" are sent (an edit that still matches is not worth a mail).
A message may carry an attachment (the daily digest's chart, bot/digest/target_digest.py),
handed to Apprise from memory.
"""
from __future__ import annotations

import logging

from bot.delivery.target_urls import scrub
from bot.delivery.webhook import DELETE, TargetMessage
from bot.errors import DeliveryFailed

log = logging.getLogger(__name__)


def load_apprise(url: str):
    """An Apprise notifier for `url`, or None when Apprise does not understand it. Apprise is imported
    here (it loads ~100 plugins) and its log lines are kept out of ours (they name hosts, recipients and
    parts of passwords); what went wrong comes back, scrubbed, in the result of each notify."""
    import apprise

    quiet = logging.getLogger("apprise")
    quiet.setLevel(logging.WARNING)  # each notify still captures its own WARNING lines for `_why`
    quiet.propagate = False
    notifier = apprise.Apprise()
    return notifier if notifier.add(url) else None


def apprise_text(event: dict) -> tuple[str, str]:
    """(title, body) of an alert event or of its follow-up."""
    channel = event["channel"]
    where = channel["title"] or (f"@{channel['username']}" if channel["username"] else str(channel["id"]))
    rules = ", ".join(r["title"] or r["id"] for r in event["rules"]) or "-"
    if event["event"] == DELETE:
        head = "deleted by the channel"
    elif not event["matches_now"]:
        head = "edited, no longer matches"
    else:
        head = "edited" if event["event"] != "alert" else rules
    flags = [" (found late)" if event["late"] else "", " (matched after an edit)" if event["edited"] else ""]
    title = f"Dozor: {head} · {where}"
    lines = [f"{where} · {event['post']['date'][:16].replace('T', ' ')} UTC · rules: {rules}{''.join(flags)}",
             event["excerpt"] or "(no text)"]
    if event["link"]:
        lines.append(event["link"])
    return title, "\n\n".join(lines)


def worth_sending(event: dict) -> bool:
    """Apprise gets alerts, deletions and "no longer matches"; not edits that still match."""
    return event["event"] in ("alert", DELETE) or not event["matches_now"]


class AppriseTransport:
    """Notifies one Apprise URL per message, within `timeout` seconds."""

    def __init__(self, timeout: float):
        self.timeout = timeout

    async def send(self, message: TargetMessage) -> None:
        url = message.target.url
        notifier = load_apprise(url)
        if notifier is None:
            raise DeliveryFailed("not a URL Apprise understands (check it with `apprise -vv URL`)")
        result = await notifier.async_notify(body=message.body, title=message.title, timeout=self.timeout,
                                             log_level=logging.WARNING, attach=_attachment(message))
        if not result:
            raise DeliveryFailed(scrub(f"Apprise could not deliver: {_why(result)}", url, message.target.secret))
        return None


def _attachment(message: TargetMessage):
    """The message's attachment for Apprise (kept in memory, never a file), or None. Services that take
    no attachments get the text alone."""
    if not message.attachment:
        return None
    from apprise import AppriseAttachment
    from apprise.attachment.memory import AttachMemory

    attachments = AppriseAttachment()
    attachments.add(AttachMemory(content=message.attachment, name=message.attachment_name or "attachment",
                                 mimetype="image/png" if message.attachment[:4] == b"\x89PNG" else None))
    return attachments


def _why(result) -> str:
    """The last lines Apprise logged about the failure, or its counts."""
    try:
        lines = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR", "CRITICAL")]
    except Exception:  # the result's shape is Apprise's business; the counts still say something
        lines = []
    lines = [str(line) for line in lines if line][-2:]
    return "; ".join(lines) or f"{result.failed_count} failed, {result.timeout_count} timed out"
