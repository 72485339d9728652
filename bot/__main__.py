"""The `dozor` command line. Logging is set up here and nowhere else.

Each feature module registers its own subcommands; a handler is
`fn(args, settings) -> int` set with `set_defaults(handler=fn)`. User errors
(DozorError) print one line on stderr and exit 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
import os
import sys
from typing import Sequence

from bot import runner
from bot.datadir import secure_data_dir
from bot.errors import DozorError
from bot.settings import load_settings

log = logging.getLogger("bot")
EXIT_USAGE = 2


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:  # the parent package is missing
        return False


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dozor",
        description="Dozor watches public Telegram channels and alerts you when a post matches your rules.",
        epilog="Start with `dozor run` (replays the built-in sample without Telegram credentials). "
               "`dozor COMMAND --help` explains each command.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    runner.register(subparsers)
    rules_subparsers = None
    if _module_exists("bot.rules.cli"):
        rules_subparsers = importlib.import_module("bot.rules.cli").register(subparsers)
    for name in ("bot.digest_cli", "bot.telegram.cli"):
        if _module_exists(name):
            importlib.import_module(name).register(subparsers)
    if _module_exists("bot.commands.cli"):
        importlib.import_module("bot.commands.cli").register(subparsers, rules_subparsers)
    return parser


def setup_logging(level_name: str, verbose: bool) -> None:
    level = logging.DEBUG if verbose else getattr(logging, str(level_name).upper(), logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    for noisy in ("telethon", "aiosqlite", "apscheduler", "matplotlib", "asyncio", "pymorphy3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:
        parser.print_help()
        return EXIT_USAGE if args.command is None else 0
    try:
        settings = load_settings()
    except DozorError as exc:
        print(f"dozor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    setup_logging(settings.log_level, args.verbose)
    try:
        secure_data_dir(settings.data_dir)
        return int(args.handler(args, settings) or 0)
    except DozorError as exc:
        print(f"dozor: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("dozor: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `dozor … | head`: the reader left; say nothing more
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
