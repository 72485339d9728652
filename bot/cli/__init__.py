"""The `dozor` command line: one `build_parser()`, each command group registered explicitly.

A handler is `fn(args, settings) -> int`, set with `set_defaults(handler=fn)`.
Handlers raise DozorError for anything a user got wrong or must fix; only
`bot/__main__.py` turns it into one line "dozor: …" and exit code 2.
"""
from __future__ import annotations

import argparse

from bot.app import replay
from bot.cli import channels, digest, manage, rules


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dozor",
        description="Dozor watches public Telegram channels and alerts you when a post matches your rules.",
        epilog="Start with `dozor run` (replays the built-in sample without Telegram credentials). "
               "`dozor COMMAND --help` explains each command.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    replay.register(subparsers)
    rules_subparsers = rules.register(subparsers)
    digest.register(subparsers)
    channels.register(subparsers)
    manage.register(subparsers, rules_subparsers)
    return parser
