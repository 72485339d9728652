"""The `dozor` command line: one `build_parser()`, each command group registered explicitly.

A handler is `fn(args, settings) -> int`, set with `set_defaults(handler=fn)`;
a command group without its action sets `handler=None, help_of=its parser`.
Handlers raise DozorError for anything a user got wrong or must fix; only
`bot/__main__.py` turns it into one line "dozor: …" and exit code 2.

    run.py          dozor run (replay or live)
    rules.py        dozor match, dozor rules check|test|explain|import|export
    suggest.py      dozor rules suggest, dozor feedback
    digest.py       dozor digest
    channels.py     dozor login, dozor channels … (channel_options.py: channels set)
    history.py      dozor backtest
    rematch.py      dozor rematch
    subscribers.py  dozor subscribers …, dozor status (subscriber_options.py: subscribers set, --style, --topic)
    browse.py       dozor search, dozor export (stored posts and matches, no bot needed)
    dates.py        --from DAY --to DAY, shared by the commands that read stored posts
    web.py          dozor web, dozor web-login
    db.py           dozor db migrate-to postgresql://…
"""
from __future__ import annotations

import argparse
from importlib import metadata

from bot.cli import browse, channels, db, digest, history, rematch, rules, run, subscribers, suggest, web


def dozor_version() -> str:
    """The installed package's version (pyproject.toml), or "unknown" when run from a bare checkout."""
    try:
        return metadata.version("dozor")
    except metadata.PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dozor",
        description="Dozor watches public Telegram channels and alerts you when a post matches your rules.",
        epilog="Start with `dozor run` (replays the built-in sample without Telegram credentials). "
               "`dozor COMMAND --help` explains each command.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--version", action="version", version=f"dozor {dozor_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    run.register(subparsers)
    rules_subparsers = rules.register(subparsers)
    suggest.register(rules_subparsers, subparsers)
    digest.register(subparsers)
    channels.register(subparsers)
    history.register(subparsers)
    rematch.register(subparsers)
    browse.register(subparsers)
    subscribers.register(subparsers)
    web.register(subparsers)
    db.register(subparsers)
    return parser
