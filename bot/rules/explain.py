"""`dozor rules explain`: why a rule matched a text or not, node by node.

Built on the compiled rule's own verdict: `CompiledRule.evaluate_traced`
evaluates exactly as matching does and records what each node found; this
module only prints that record. A part AND did not need to look at (an
earlier part was false) is shown as not checked; OR alternatives with none
of their words in the text are folded into a count.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.formatting import shorten
from bot.models import Match
from bot.rules.nodes import And, Near, Not, Or, Step
from bot.text import Doc

MAX_SHOWN_ALTERNATIVES = 4  # an OR with more children shows only those whose words occur


@dataclass(frozen=True)
class Explanation:
    """The rule's verdict on a text (what RuleSet matching gives, channel filters aside) and its account."""

    match: Match | None
    text: str


def _where(doc: Doc, hits) -> str:
    shown = []
    for hit in hits[:6]:
        start, end = doc.original_span(hit[2], hit[3])
        shown.append(f"{doc.original[start:end]!r}@{start}")
    more = f" (+{len(hits) - 6} more)" if len(hits) > 6 else ""
    return ", ".join(shown) + more


def _short(node) -> str:
    return shorten(str(node), 100)


def _children(node) -> list:
    if isinstance(node, (And, Or)):
        return list(node.children)
    if isinstance(node, Near):
        return [node.left, node.right]
    if isinstance(node, Not):
        return [node.child]
    return []


def _describe(step: Step, doc: Doc, depth: int, lines: list[str]) -> None:
    node, hits = step.node, step.hits
    mark = "TRUE " if hits is not None else "false"
    pad = "  " * depth
    if isinstance(node, Or):
        evaluated = [s for s in step.children if not s.skipped]
        shown = step.children if len(node.children) <= MAX_SHOWN_ALTERNATIVES else evaluated
        rest = len(node.children) - len(shown)
        lines.append(f"{pad}{mark} OR" + (f" ({rest} other alternatives: no word found)" if rest else ""))
        for child in shown:
            _describe(child, doc, depth + 1, lines)
        return
    if isinstance(node, Near):
        op = "ONEAR" if node.ordered else "NEAR"
        lines.append(f"{pad}{mark} {op}/{node.distance}" + (f": {_where(doc, hits)}" if hits else ""))
    elif isinstance(node, (And, Not)):
        lines.append(f"{pad}{mark} {'AND' if isinstance(node, And) else 'NOT'}")
    else:
        found = f" found {_where(doc, hits)}" if hits else " not found"
        lines.append(f"{pad}{mark} {node}{found}")
    for child in step.children:
        _describe(child, doc, depth + 1, lines)
    for child in _children(node)[len(step.children):]:
        lines.append(f"{pad}  ----- {_short(child)} (not checked: an earlier part is false)")


def explain(rule, doc: Doc) -> Explanation:
    """The verdict of `rule` (a CompiledRule) on `doc` and a readable account of it."""
    d = rule.defn
    lines = [f"rule {d.id!r}" + (f" ({d.title})" if d.title else ""),
             f"text language: {doc.lang or 'unknown'}; tokens: {len(doc.tokens)}"]
    if not d.enabled:
        lines.append("rule is DISABLED: it never matches")
    lang_ok = not d.langs or doc.lang in d.langs
    if d.langs:
        lines.append(f"langs filter {list(d.langs)}: {'passes' if lang_ok else 'BLOCKS'} ({doc.lang or '?'})")
    if d.channels_include or d.channels_exclude:
        lines.append(f"channel filter: include {list(d.channels_include)} exclude "
                     f"{list(d.channels_exclude)} (applied to the post's channel)")
    match, trace = rule.evaluate_traced(doc)
    lines.append("query:")
    for step in trace.query:
        _describe(step, doc, 1, lines)
    if rule.exclude is not None:
        lines.append("exclude:")
        for step in trace.exclude:
            _describe(step, doc, 1, lines)
        if not trace.exclude:
            lines.append(f"  ----- {_short(rule.exclude)} (not checked: the query is false)")
        if trace.vetoed:
            lines.append("exclude VETOES the match")
    if not (d.enabled and lang_ok):
        match = None
    if match is not None:
        spans = ", ".join(f"[{a}, {b}) {doc.original[a:b]!r}" for a, b in match.spans)
        lines.append(f"MATCH, spans: {spans}")
    else:
        lines.append("NO MATCH")
    return Explanation(match, "\n".join(lines))


def explain_rule(rule, doc: Doc) -> str:
    """A readable account of one compiled rule against one analyzed text."""
    return explain(rule, doc).text
