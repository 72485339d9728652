"""Rule-engine benchmark: posts/s on one core for the default rules and for
1,000 and 10,000 generated rules over the real replay posts, next to a baseline
measured in the same run (each rule as one compiled regex alternation of its
terms, tried rule by rule). Also compile time and peak RSS.

    .venv/bin/python bench/match_bench.py [--posts N] [--baseline-posts N] [--seed S]

Rates are posts per CPU-second of this process, the best of 3 runs (the
machine's other load only slows a run down). Never part of the test run; takes
under a minute on a 2-core machine.

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import argparse
import gzip
import json
import random
import re
import resource
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.models import RuleDef  # noqa: E402
from bot.rules import compile_rules, load_rule_file  # noqa: E402
from bot.rules.nodes import term_keys  # noqa: E402
from bot.text import analyze, clear_caches  # noqa: E402

REPLAY = ROOT.parent / "shared" / "data" / "replay" / "posts.jsonl.gz"


def load_texts(path: Path) -> list[str]:
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return [t for t in (json.loads(line).get("text") or "" for line in f) if t.strip()]


def vocabulary(texts: list[str]) -> list[str]:
    """Words of rank 1,000 to 21,000 (4+ letters): specific words, as alert rules use."""
    counts = Counter(t.lower for text in texts for t in analyze(text).tokens
                     if len(t.lower) >= 4 and t.lower.isalpha())
    return [w for w, _ in counts.most_common()[1000:21000]]


def generate_rules(n: int, vocab: list[str], rng: random.Random) -> tuple[list[RuleDef], list[list[str]]]:
    """Rules of the shapes operators write; returns the defs and each rule's terms."""
    defs, terms = [], []
    for i in range(n):
        a, b, c, d = rng.sample(vocab, 4)
        pb, pc = b[:max(5, len(b) - 2)], c[:max(5, len(c) - 2)]  # stems, as in мобилиз*
        shape = i % 6
        if shape == 0:
            query, used = f"{a} OR {b}", [a, b]
        elif shape == 1:
            query, used = f'"{a} {b}" OR {c}', [a, b, c]
        elif shape == 2:
            query, used = f"{a} AND ({b} OR {pc}*)", [a, b, pc + "*"]
        elif shape == 3:
            query, used = f"{a} NEAR/5 {b}", [a, b]
        elif shape == 4:
            query, used = f"({a} OR {b} OR {c}) -{d}", [a, b, c]
        else:
            query, used = f"={a} OR {pb}*", [a, pb + "*"]
        defs.append(RuleDef(id=f"g{i}", query=query, tags=("generated",)))
        terms.append(used)
    return defs, terms


def baseline_patterns(terms: list[list[str]]) -> list[re.Pattern]:
    """One regex per rule: an alternation of its terms (prefixes as stem + \\w*)."""
    patterns = []
    for used in terms:
        alts = [re.escape(t[:-1]) + r"\w*" if t.endswith("*") else re.escape(t) for t in used]
        patterns.append(re.compile(r"\b(?:" + "|".join(alts) + r")\b", re.IGNORECASE))
    return patterns


def rate(fn, texts: list[str]) -> float:
    """Posts per CPU-second of this process (fair on a machine shared with others)."""
    start = time.process_time()
    for text in texts:
        fn(text)
    return len(texts) / (time.process_time() - start)


def best_rate(fn, texts: list[str], runs: int = 3) -> float:
    """The best of several runs: the machine's other load only ever slows a run down."""
    return max(rate(fn, texts) for _ in range(runs))


def run_baseline(patterns: list[re.Pattern], texts: list[str], runs: int) -> float:
    def match(text: str) -> None:
        for pattern in patterns:
            pattern.search(text)
    return best_rate(match, texts, runs)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=4000, help="posts sampled for timing")
    parser.add_argument("--baseline-posts", type=int, default=300, help="posts for the slow baseline")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    texts = load_texts(REPLAY)
    print(f"RSS after loading the replay posts: {rss_mib():.0f} MiB")
    sample = rng.sample(texts, min(args.posts, len(texts)))
    base_sample = sample[: args.baseline_posts]
    avg = sum(map(len, sample)) / len(sample)
    print(f"replay posts: {len(texts)}; timing sample {len(sample)} (avg {avg:.0f} chars); one core, CPU time")

    default = compile_rules(load_rule_file(ROOT / "config" / "rules.toml"))
    clear_caches()
    cold = rate(default.match_text, sample[:1000])
    rate(default.match_text, sample)  # every word of the sample is now cached
    warm = best_rate(default.match_text, sample)
    print(f"default rules ({len(default.defs)}): cold cache {cold:,.0f} posts/s, warm {warm:,.0f} posts/s")

    vocab = vocabulary(texts[:8000])
    print(f"generated-rule vocabulary: {len(vocab)} words")
    print(f"{'rules':>7} {'compile s':>10} {'posts/s warm':>13} {'baseline':>9} {'speed-up':>9}"
          f" {'cands/post':>11} {'matches/post':>13}")
    bench_generated(vocab, sample, base_sample, texts, rng)
    return 0


def bench_generated(vocab, sample, base_sample, texts, rng) -> None:
    """Our engine at 1,000 and 10,000 rules, then the regex baseline for each."""
    results = []
    for n in (1000, 10000):
        defs, terms = generate_rules(n, vocab, rng)
        clear_caches()
        term_keys.cache_clear()
        start = time.process_time()
        ruleset = compile_rules(defs)  # cold: every term lemmatized afresh
        compile_s = time.process_time() - start
        rate(ruleset.match_text, sample)  # warm: every word and term cached
        ours = best_rate(ruleset.match_text, sample)
        cands = sum(len(ruleset.candidates(analyze(t))) for t in sample[:500]) / 500
        hits = sum(len(ruleset.match_text(t)) for t in sample[:500]) / 500
        results.append((n, compile_s, ours, cands, hits, terms))
        del ruleset
    engine_rss = rss_mib()
    for n, compile_s, ours, cands, hits, terms in results:
        patterns = baseline_patterns(terms)
        base = run_baseline(patterns, base_sample if n == 1000 else base_sample[:60], 2)
        print(f"{n:>7} {compile_s:>10.2f} {ours:>13,.0f} {base:>9,.0f} {ours / base:>8.0f}x"
              f" {cands:>11.1f} {hits:>13.2f}")
    print(f"peak RSS of the engine runs: {engine_rss:.0f} MiB (with the {len(texts)} replay texts "
          f"in memory); with the regex baseline: {rss_mib():.0f} MiB")


if __name__ == "__main__":
    raise SystemExit(main())
