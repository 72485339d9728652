"""English lemmas (issue 14 item 9): the hand-written suffix stripper Dozor had, simplemma and
lemminflect, on word pairs a rule must join or keep apart, and on the English words of the
replay and eval sets (speed, cold start, memory).

    .venv/bin/python bench/english_lemmas.py

Quality: a pair (query word, post word) counts as right when the two words share a lemma exactly
when they should ("summons" / "Summonses" must, "desert" / "deserters" must not). For lemminflect
every lemma of every part of speech counts (bot/text.py indexes them all, as it does pymorphy3's
parses); simplemma gives one lemma. Speed: every distinct Latin word of ../shared/data/replay and
../shared/eval plus tests/rules/data, looked up once each (no cache), words per second.

Replay posts: NKTKLN/telegram-news-classifier, CC BY 4.0 (README: Credits).
"""
from __future__ import annotations

import gzip
import json
import re
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"

PAIRS = [  # (query word, post word, should share a lemma)
    ("summons", "summonses", True), ("summons", "summons", True), ("refuse", "refused", True),
    ("refuse", "refusing", True), ("mobilize", "mobilized", True), ("mobilize", "mobilised", True),
    ("soldier", "soldiers", True), ("go", "went", True), ("go", "gone", True), ("man", "men", True),
    ("flee", "fled", True), ("fight", "fought", True), ("leave", "left", True), ("child", "children", True),
    ("conscript", "conscripts", True), ("draftee", "draftees", True), ("office", "offices", True),
    ("evade", "evading", True), ("woman", "women", True), ("deploy", "deployed", True),
    ("desert", "deserters", False), ("mobile", "mobilization", False), ("desert", "deserted", True),
    ("troop", "troops", True), ("reservist", "reservists", True), ("army", "armies", True),
    ("seek", "sought", True), ("take", "took", True), ("draft", "drafted", True),
    ("mobilization", "mobilisation", True), ("front", "frontline", False), ("call", "called", True),
    ("catch", "caught", True), ("hide", "hid", True), ("hide", "hidden", True), ("shoot", "shot", True),
    ("die", "dying", True), ("die", "died", True), ("arrest", "arrested", True), ("stop", "stopped", True),
    ("crisis", "crises", True), ("begin", "began", True), ("write", "written", True), ("speak", "spoke", True),
    ("hostility", "hostilities", True), ("bus", "buses", True), ("new", "news", False),
    ("deploy", "deployment", False), ("draft", "draftee", False), ("refuse", "refusal", False),
]

# The stripper bot/text.py had before issue 14, kept here only as the baseline of this comparison.
_IRREGULAR = {
    "fled": "flee", "went": "go", "gone": "go", "ran": "run", "fought": "fight",
    "men": "man", "women": "woman", "sent": "send", "left": "leave", "taken": "take",
    "took": "take", "sought": "seek", "held": "hold", "children": "child",
}
_BRITISH = re.compile(r"(il|al|an|og|or|en|ar|ial|iz)is(e|ed|es|ing|ation|ations)$")
_VOWEL = re.compile(r"[aeiouy]")


def old_stripper(word: str) -> set[str]:
    w = _IRREGULAR.get(word, word)
    w = _BRITISH.sub(lambda m: m.group(1) + "iz" + m.group(2), w)
    if len(w) > 4 and w.endswith(("ies", "ied")):
        w = w[:-3] + "y"
    elif len(w) > 4 and w.endswith(("sses", "xes", "ches", "shes", "zes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is", "ous")):
        w = w[:-1]
    elif len(w) > 4 and w.endswith(("ing", "ed")):
        stem = w[:-3] if w.endswith("ing") else w[:-2]
        if _VOWEL.search(stem) and len(stem) >= 3:
            if len(stem) > 3 and stem[-1] == stem[-2] and stem[-1] not in "lsz":
                stem = stem[:-1]
            w = stem
    if len(w) > 3 and w.endswith("e") and not w.endswith("ee"):
        w = w[:-1]
    return {w}


def british(lemmas: set[str]) -> set[str]:
    return {_BRITISH.sub(lambda m: m.group(1) + "iz" + m.group(2), x) for x in lemmas}


def simplemma_lemmas(word: str) -> set[str]:
    import simplemma
    return british({simplemma.lemmatize(word, lang="en")})


def lemminflect_lemmas(word: str) -> set[str]:
    import lemminflect
    found = {x for forms in lemminflect.getAllLemmas(word).values() for x in forms}
    return british(found or {word})


def current_lemmas(word: str) -> set[str]:
    """What bot/text.py uses now (its index keys without the "~")."""
    from bot.text import english_lemmas
    return set(english_lemmas(word))


def english_words() -> list[str]:
    texts = []
    replay = SHARED / "data" / "replay" / "posts.jsonl.gz"
    if replay.is_file():
        with gzip.open(replay, "rt", encoding="utf-8") as handle:
            texts += [json.loads(line)["text"] for line in handle]
    for path in [SHARED / "eval" / "dev.jsonl", *sorted((ROOT / "tests" / "rules" / "data").glob("heldout*.jsonl"))]:
        texts += [json.loads(x)["text"] for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    return sorted({w.lower() for text in texts for w in re.findall(r"\b[A-Za-z]+(?:'[A-Za-z]+)?\b", text)})


def measure(name: str, lemmas, words: list[str]) -> None:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    lemmas("warmup")
    cold = time.perf_counter() - started
    right = [q for q, w, same in PAIRS if bool(lemmas(q) & lemmas(w)) is same]
    wrong = [f"{q}/{w}" for q, w, same in PAIRS if bool(lemmas(q) & lemmas(w)) is not same]
    started = time.perf_counter()
    for word in words:
        lemmas(word)
    rate = len(words) / (time.perf_counter() - started)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss) / 1024
    print(f"{name:<12} {len(right):>2}/{len(PAIRS)} pairs right  {rate:>9,.0f} words/s  "
          f"cold start {cold * 1000:>5.0f} ms  +{grown:>4.0f} MiB   wrong: {', '.join(wrong) or '-'}")


def main() -> None:
    sys.path.insert(0, str(ROOT))
    words = english_words()
    print(f"{len(words):,} distinct Latin words in the replay and eval sets")
    for name, lemmas in (("stripper", old_stripper), ("simplemma", simplemma_lemmas),
                         ("lemminflect", lemminflect_lemmas), ("bot.text", current_lemmas)):
        measure(name, lemmas, words)


if __name__ == "__main__":
    main()
