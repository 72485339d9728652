"""`dozor rules explain`: why a rule matched a text or not, node by node."""
from __future__ import annotations

from bot.rules.nodes import And, Near, Not, Or
from bot.text import Doc


def _where(doc: Doc, hits) -> str:
    shown = []
    for hit in hits[:6]:
        start, end = doc.original_span(hit[2], hit[3])
        shown.append(f"{doc.original[start:end]!r}@{start}")
    more = f" (+{len(hits) - 6} more)" if len(hits) > 6 else ""
    return ", ".join(shown) + more


def _touches(node, doc: Doc) -> bool:
    """True when any word of the sub-expression occurs in the text."""
    parts = [getattr(node, n) for n in ("left", "right", "child") if hasattr(node, n)]
    parts += list(getattr(node, "children", ()) or ())
    if not parts:
        return node.evaluate(doc) is not None
    return any(_touches(p, doc) for p in parts)


def _describe(node, doc: Doc, depth: int, lines: list[str]) -> None:
    hits = node.evaluate(doc)
    mark = "TRUE " if hits is not None else "false"
    pad = "  " * depth
    if isinstance(node, And):
        lines.append(f"{pad}{mark} AND")
        for child in node.children:
            _describe(child, doc, depth + 1, lines)
    elif isinstance(node, Or):
        touched = [c for c in node.children if _touches(c, doc)]
        shown = node.children if len(node.children) <= 4 else touched
        rest = len(node.children) - len(shown)
        lines.append(f"{pad}{mark} OR" + (f" ({rest} other alternatives: no word found)" if rest else ""))
        for child in shown:
            _describe(child, doc, depth + 1, lines)
    elif isinstance(node, Near):
        op = "ONEAR" if node.ordered else "NEAR"
        lines.append(f"{pad}{mark} {op}/{node.distance}" + (f": {_where(doc, hits)}" if hits else ""))
        _describe(node.left, doc, depth + 1, lines)
        _describe(node.right, doc, depth + 1, lines)
    elif isinstance(node, Not):
        lines.append(f"{pad}{mark} NOT")
        _describe(node.child, doc, depth + 1, lines)
    else:
        found = f" found {_where(doc, hits)}" if hits else " not found"
        lines.append(f"{pad}{mark} {node}{found}")


def explain_rule(rule, doc: Doc) -> str:
    """A readable account of one compiled rule against one analyzed text."""
    d = rule.defn
    lines = [f"rule {d.id!r}" + (f" ({d.title})" if d.title else ""),
             f"text language: {doc.lang or 'unknown'}; tokens: {len(doc.tokens)}"]
    if not d.enabled:
        lines.append("rule is DISABLED: it never matches")
    if d.langs:
        ok = doc.lang in d.langs
        lines.append(f"langs filter {list(d.langs)}: {'passes' if ok else 'BLOCKS'} ({doc.lang or '?'})")
    if d.channels_include or d.channels_exclude:
        lines.append(f"channel filter: include {list(d.channels_include)} exclude "
                     f"{list(d.channels_exclude)} (applied to the post's channel)")
    lines.append("query:")
    _describe(rule.node, doc, 1, lines)
    verdict = rule.node.evaluate(doc) is not None
    if rule.exclude is not None:
        lines.append("exclude:")
        _describe(rule.exclude, doc, 1, lines)
        if verdict and rule.exclude.evaluate(doc) is not None:
            lines.append("exclude VETOES the match")
            verdict = False
    if d.langs and doc.lang not in d.langs:
        verdict = False
    verdict = verdict and d.enabled
    match = rule.evaluate(doc) if verdict else None
    if match is not None:
        spans = ", ".join(f"[{a}, {b}) {doc.original[a:b]!r}" for a, b in match.spans)
        lines.append(f"MATCH, spans: {spans}")
    else:
        lines.append("NO MATCH")
    return "\n".join(lines)
