"""The `dozor` command line. Logging is set up here and nowhere else.

The parser is built in bot/cli/ (one module per command group). This is the one
place that turns a DozorError into one line "dozor: …" on stderr and exit 2,
never a traceback.
"""
from __future__ import annotations

import logging
import os
import sys
from typing import Sequence

from bot.cli import build_parser
from bot.datadir import secure_data_dir
from bot.errors import DozorError, EXIT_USAGE
from bot.settings import load_settings

log = logging.getLogger("bot")


def setup_logging(level_name: str, verbose: bool) -> None:
    level = logging.DEBUG if verbose else getattr(logging, str(level_name).upper(), logging.INFO)
    logging.basicConfig(level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    for noisy in ("telethon", "aiosqlite", "apscheduler", "matplotlib", "asyncio", "pymorphy3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "handler", None) is None:  # no command, or a group without its action
        (getattr(args, "help_of", None) or parser).print_help()
        return EXIT_USAGE
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
