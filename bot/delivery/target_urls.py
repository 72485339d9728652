"""Target URLs: checking a webhook or Apprise URL an operator typed, and the masked label shown for it.

A URL may carry credentials (user:password@, tokens in the path or query, an
Apprise `tgram://BOTTOKEN/…`), so it is never logged or listed: `mask_url`
gives a label that tells targets apart without giving anything away, e.g.
`https://hooks.example.org/… #3f9a1c` (a webhook: scheme, host and port) or
`mailto://… #b07e42` (Apprise: the scheme only). The `#…` is the start of the
URL's SHA-256. `scrub` removes a URL and secret from an error text before it is
stored or logged.
"""
from __future__ import annotations

import hashlib
from urllib.parse import urlsplit

from bot.errors import UsageError
from bot.models import SubscriberKind


def fingerprint(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()[:6]


def mask_url(kind: SubscriberKind, url: str) -> str:
    """The label of a target: no credentials, no path, no query."""
    parts = urlsplit(url)
    if kind == SubscriberKind.WEBHOOK and parts.hostname:
        port = f":{parts.port}" if parts.port else ""
        return f"{parts.scheme}://{parts.hostname}{port}/… #{fingerprint(url)}"
    return f"{parts.scheme or '?'}://… #{fingerprint(url)}"


def check_webhook_url(url: str) -> str:
    """The URL stripped, or UsageError saying what is wrong (never echoing the URL: it may hold a token)."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a bad port)
    except ValueError as exc:
        raise UsageError(f"--webhook: not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError("--webhook needs an http:// or https:// URL with a host, e.g. https://hooks.example.org/dozor")
    return url


def scrub(text: str, *secrets: str | None) -> str:
    """`text` with every secret (a URL, an HMAC secret) replaced by `***`."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
