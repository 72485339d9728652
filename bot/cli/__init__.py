"""The `dozor` command line: one `build_parser()`, each command group registered explicitly.

A handler is `fn(args, settings) -> int`, set with `set_defaults(handler=fn)`;
a command group without its action sets `handler=None, help_of=its parser`.
Handlers raise DozorError for anything a user got wrong or must fix; only
`bot/__main__.py` turns it into one line "dozor: …" and exit code 2.

    run.py          dozor run (replay or live)
    rules.py        dozor match, dozor rules check|test|explain|import|export
    suggest.py      dozor rules suggest, dozor feedback
    digest.py       dozor digest
    channels.py     dozor login, dozor channels …
    history.py      dozor backtest
    subscribers.py  dozor subscribers …, dozor status
    db.py           dozor db migrate-to postgresql://…
"""
from __future__ import annotations

import argparse

from bot.cli import channels, db, digest, history, rules, run, subscribers, suggest


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dozor",
        description="Dozor watches public Telegram channels and alerts you when a post matches your rules.",
        epilog="Start with `dozor run` (replays the built-in sample without Telegram credentials). "
               "`dozor COMMAND --help` explains each command.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    run.register(subparsers)
    rules_subparsers = rules.register(subparsers)
    suggest.register(rules_subparsers, subparsers)
    digest.register(subparsers)
    channels.register(subparsers)
    history.register(subparsers)
    subscribers.register(subparsers)
    db.register(subparsers)
    return parser
