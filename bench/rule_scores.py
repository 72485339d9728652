"""The default rules' F1 on ../shared/eval/dev.jsonl and tests/rules/data/heldout*.jsonl, and their
match count on the replay set (issue 14 items 9, 10: the scores before and after a change).

    .venv/bin/python bench/rule_scores.py [RULES.toml]

Scoring follows ../shared/eval/score.py: a post is relevant when any rule matches, and belongs to a
topic when a matching rule's id or one of its tags is the topic. "heldout (all)" pools every held-out
set; the replay line counts the posts any rule matches among the 22,099 real posts (no labels).

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.rules import compile_rules, load_rule_file  # noqa: E402

SHARED = ROOT.parent / "shared"
LABELS = ("relevant", "mobilization", "refusals")


def labelled(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def predict(rules, rows: list[dict]) -> tuple[list[set], list[set]]:
    gold, pred = [], []
    for row in rows:
        matches = rules.match_text(row["text"])
        gold.append(set(row["topics"]) | ({"relevant"} if row["topics"] else set()))
        pred.append({x for m in matches for x in (m.rule_id, *m.tags)} | ({"relevant"} if matches else set()))
    return gold, pred


def f1(gold: list[set], pred: list[set], label: str) -> float:
    tp = sum(label in g and label in p for g, p in zip(gold, pred))
    fp = sum(label not in g and label in p for g, p in zip(gold, pred))
    fn = sum(label in g and label not in p for g, p in zip(gold, pred))
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 1.0


def main() -> None:
    rules = compile_rules(load_rule_file(sys.argv[1] if len(sys.argv) > 1 else ROOT / "config" / "rules.toml"))
    sets = {"dev": labelled(SHARED / "eval" / "dev.jsonl")}
    heldout = sorted((ROOT / "tests" / "rules" / "data").glob("heldout*.jsonl"),
                     key=lambda p: int(p.stem[7:] or 1))
    pooled = []
    for path in heldout:
        sets[path.stem] = labelled(path)
        pooled += sets[path.stem]
    sets["heldout (all)"] = pooled
    print(f"{'set':<16}{'posts':>6}  " + "  ".join(f"{label:>12}" for label in LABELS))
    for name, rows in sets.items():
        gold, pred = predict(rules, rows)
        print(f"{name:<16}{len(rows):>6}  " + "  ".join(f"{f1(gold, pred, label):>12.3f}" for label in LABELS))
    replay = SHARED / "data" / "replay" / "posts.jsonl.gz"
    if replay.is_file():
        with gzip.open(replay, "rt", encoding="utf-8") as handle:
            texts = [json.loads(line)["text"] for line in handle]
        matched = sum(bool(rules.match_text(text)) for text in texts)
        print(f"replay: {matched} of {len(texts):,} posts matched")


if __name__ == "__main__":
    main()
