"""`dozor subscribers add --webhook URL [--secret S]` and `--apprise URL`: a delivery target outside Telegram.

The URL is checked (a webhook: http(s) with a host; Apprise: a URL the Apprise
library understands) and stored with the secret in delivery_targets; the
subscriber gets every rule, like a chat added by the CLI. Nothing printed or
logged shows the URL or the secret: the target is named by its masked label.
"""
from __future__ import annotations

from bot.delivery.apprise_sink import load_apprise
from bot.delivery.target_urls import check_webhook_url, mask_url
from bot.errors import UsageError
from bot.models import SubscriberKind
from bot.storage import targets

ACTOR = "cli"


async def add_target(store, args, settings, now) -> int:
    if args.chat_id is not None:
        raise UsageError("subscribers add takes a CHAT_ID or --webhook/--apprise, not both")
    if args.since is not None or args.role == "operator":
        raise UsageError("--since and --role operator are for chats; a webhook or Apprise target gets new alerts")
    if args.webhook:
        kind, url = SubscriberKind.WEBHOOK, check_webhook_url(args.webhook)
    else:
        if args.secret:
            raise UsageError("--secret signs webhook bodies; an Apprise URL carries its own credentials")
        kind, url = SubscriberKind.APPRISE, _check_apprise_url(args.apprise)
    secret = args.secret or None
    label = mask_url(kind, url)
    chat_id = await store.write(
        lambda conn: targets.add_target(conn, kind, url, secret, label, ACTOR, now, settings.tz))
    signed = ", bodies signed (X-Dozor-Signature)" if secret else ""
    print(f"{chat_id} subscribed: {kind} {label}{signed}")
    print("it gets alerts for new matches while `dozor run` runs; "
          f"`dozor subscribers remove {chat_id}` stops them")
    return 0


def _check_apprise_url(url: str) -> str:
    url = url.strip()
    if load_apprise(url) is None:
        raise UsageError("--apprise: not a URL Apprise understands (e.g. mailto://user:password@example.org, "
                         "ntfy://topic; see the Apprise wiki)")
    return url
