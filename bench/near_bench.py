"""NEAR on a 100 KB post of one repeated word (issue 13 item 16): windowed pairing vs every pair.

    .venv/bin/python bench/near_bench.py
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.rules import compile_query  # noqa: E402
from bot.rules.nodes import near_hits  # noqa: E402
from bot.text import analyze  # noqa: E402


def every_pair(left, right, distance, ordered):
    """The pairing before the fix: every left hit against every right hit (near_hits without its window)."""
    return near_hits(left, right, distance, ordered, max_checks=10**12, windowed=False)[0]


def main() -> None:
    text = "мобилизация " * 8500
    doc = analyze(text)
    node = compile_query("мобилизация NEAR/5 мобилизация").node
    left, right = node.left.evaluate(doc), node.right.evaluate(doc)
    print(f"post: {len(text):,} characters, {len(left):,} hits on each side")
    started = time.perf_counter()
    found, checks = near_hits(left, right, 5, False)
    print(f"after (window): {time.perf_counter() - started:.3f} s, {checks:,} pair checks")
    started = time.perf_counter()
    before = every_pair(left, right, 5, False)
    print(f"before (every pair): {time.perf_counter() - started:.1f} s, {len(left) * len(right):,} pair checks")
    print("same hits:", before == found)


if __name__ == "__main__":
    main()
