"""Compiled rules: a term index that picks candidate rules, then rule trees.

Each rule's query yields a set of index keys (lemmas, forms, 3-letter
prefixes) one of which any matching post must contain; a post evaluates only
the rules its keys reach, plus the rules with no extractable key.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Iterable

from bot.formatting import merge_spans
from bot.models import Match, Post, RuleDef, Span
from bot.rules.errors import RuleSyntaxError
from bot.rules.explain import explain_rule
from bot.rules.nodes import MAX_RULE_REGEXES, REGEX_POST_BUDGET, RegexBudget, Step, count_regexes, iter_words, run
from bot.rules.query import parse_query
from bot.text import Doc, analyze

log = logging.getLogger(__name__)


def hit_spans(doc: Doc, hits) -> tuple[Span, ...]:
    """Hits mapped to the original text, sorted, overlapping ones merged."""
    spans = [doc.original_span(h[2], h[3]) for h in hits if h[3] > h[2]]
    if len(spans) == 1 and spans[0][0] < spans[0][1]:
        return (spans[0],)  # the common case, without the general merge
    return tuple(merge_spans(spans))


class Query:
    """An ad-hoc query (/rule test, backtests): match a text, or prefilter in FTS5."""

    def __init__(self, text: str, node):
        self.text = text
        self.node = node

    def matches_text(self, text: str) -> list[Span]:
        """Spans of the words that make the query true; [] when it is false.

        A query true without any word (e.g. `NOT повестка`) gives [(0, 0)].
        """
        doc = analyze(text)
        hits = self.node.evaluate(doc)
        if hits is None:
            return []
        spans = list(hit_spans(doc, hits))
        return spans or [(0, 0)]

    def fts_query(self) -> str | None:
        """An FTS5 MATCH expression over lemma_text(...) finding a superset of the
        posts this query matches; None when no prefilter exists (pure NOT, regex)."""
        return self.node.fts()


def compile_query(query: str, max_regex: int | None = MAX_RULE_REGEXES, who: str = "a query") -> Query:
    """An ad-hoc query; at most `max_regex` /regex/ terms (a subscriber's /search: one)."""
    return Query(query, parse_query(query, max_regex, who))


@dataclass(eq=False)
class CompiledRule:
    defn: RuleDef
    node: object
    exclude: object | None
    include: frozenset[str]
    skip: frozenset[str]

    def allows(self, channel: str | None, channel_id: int | None, lang: str) -> bool:
        names = set()
        if channel:
            names.add(channel.lower().lstrip("@"))
        if channel_id is not None:
            names.add(str(channel_id))
        if self.include and not names & self.include:
            return False
        if names & self.skip:
            return False
        return not self.defn.langs or lang in self.defn.langs

    def evaluate(self, doc: Doc) -> Match | None:
        """The match of the query and exclude (channel, language and enabled: `allows`, RuleSet).

        The hot path: the same decision as `_decide` without a trace, inlined (one call per rule
        and post saved); tests/rules/test_explain.py checks the two agree."""
        hits = self.node.evaluate(doc)
        if hits is None or (self.exclude is not None and self.exclude.evaluate(doc) is not None):
            return None
        d = self.defn
        return Match(d.id, d.tags, hit_spans(doc, hits), d.severity)

    def evaluate_traced(self, doc: Doc) -> tuple[Match | None, RuleTrace]:
        """The same verdict as `evaluate`, with what each node of the query and exclude found."""
        trace = RuleTrace()
        return self._decide(doc, trace), trace

    def _decide(self, doc: Doc, trace: RuleTrace | None) -> Match | None:
        hits = run(self.node, doc, None if trace is None else trace.query)
        if hits is None:
            return None
        if self.exclude is not None and run(self.exclude, doc, None if trace is None else trace.exclude) is not None:
            if trace is not None:
                trace.vetoed = True
            return None
        d = self.defn
        return Match(d.id, d.tags, hit_spans(doc, hits), d.severity)


@dataclass(eq=False)
class RuleTrace:
    """What `CompiledRule.evaluate_traced` saw: the query's steps, the exclude's (empty when
    the query was false, so the exclude was not evaluated) and whether the exclude vetoed."""

    query: list[Step] = field(default_factory=list)
    exclude: list[Step] = field(default_factory=list)
    vetoed: bool = False


def _channel_set(values: Iterable[str]) -> frozenset[str]:
    return frozenset(str(v).strip().lower().lstrip("@") for v in values if str(v).strip())


def compile_rule(defn: RuleDef) -> CompiledRule:
    who = "a rule (query and exclude together)"
    try:
        node = parse_query(defn.query, MAX_RULE_REGEXES, who)
    except RuleSyntaxError as exc:
        raise exc.with_rule(defn.id, "query") from None
    exclude = None
    if defn.exclude and defn.exclude.strip():
        try:
            exclude = parse_query(defn.exclude, MAX_RULE_REGEXES, who, used=count_regexes(node))
        except RuleSyntaxError as exc:
            raise exc.with_rule(defn.id, "exclude") from None
    return CompiledRule(defn, node, exclude, _channel_set(defn.channels_include),
                        _channel_set(defn.channels_exclude))


class RuleSet:
    """All rules compiled together; `match` is pure and thread-safe to share."""

    def __init__(self, defs: tuple[RuleDef, ...], rules: list[CompiledRule],
                 regex_budget: float | None = REGEX_POST_BUDGET):
        self.defs = defs
        self.rules = rules
        self.regex_budget = regex_budget  # seconds all /regex/ terms may take on one post (None: no cap)
        self.cut: dict[str, int] = {}  # rule id -> posts on which the regex budget cut it
        self.by_id = {r.defn.id: r for r in rules}
        self.index: dict[str, list[int]] = {}
        self.always: list[int] = []
        words: set[str] = set()
        for n, rule in enumerate(rules):
            if not rule.defn.enabled:
                continue
            for tree in (rule.node, rule.exclude):
                words.update(k for w in iter_words(tree) for k in w.keyset)
            keys = rule.node.keys()
            if keys is None:
                self.always.append(n)
                continue
            for key in keys:
                self.index.setdefault(key, []).append(n)

        self.index_keys = frozenset(self.index)
        self.term_keys = frozenset(words)

    def candidates(self, doc: Doc) -> list[int]:
        found = set(self.always)
        index = self.index
        for key in doc.keyset() & self.index_keys:
            found.update(index[key])
        return sorted(found)

    def match_doc(self, doc: Doc, channel: str | None = None,
                  channel_id: int | None = None, lang: str | None = None) -> list[Match]:
        lang = lang or doc.lang
        matches = []
        candidates = self.candidates(doc)
        if candidates:
            doc.by_key(self.term_keys)  # index only the keys these rules ask for
        budget = doc.regex_budget = None if self.regex_budget is None else RegexBudget(self.regex_budget)
        for n in candidates:
            rule = self.rules[n]
            if not rule.allows(channel, channel_id, lang):
                continue
            match = rule.evaluate(doc)
            if match is not None:
                matches.append(match)
            if budget is not None and budget.cut:
                budget.cut = False
                self._log_cut(rule.defn.id, len(doc.text))
        return matches

    def _log_cut(self, rule_id: str, length: int) -> None:
        """A warning the first time (then every 100th) a rule loses its /regex/ terms to the post budget."""
        times = self.cut[rule_id] = self.cut.get(rule_id, 0) + 1
        if times == 1 or times % 100 == 0:
            log.warning("rule %r was cut (%d times so far): the /regex/ budget of %.0f ms per post ran out "
                        "on a %d-character post, so its /regex/ terms counted as false there",
                        rule_id, times, self.regex_budget * 1000, length)

    def match(self, post: Post) -> list[Match]:
        return self.match_doc(analyze(post.text), post.channel, post.channel_id, post.lang)

    def match_text(self, text: str, channel: str | None = None,
                   channel_id: int | None = None) -> list[Match]:
        return self.match_doc(analyze(text), channel, channel_id)

    def explain(self, rule_id: str, text: str) -> str:
        rule = self.by_id.get(rule_id)
        if rule is None:
            known = ", ".join(sorted(self.by_id)) or "none"
            raise RuleSyntaxError(f"no rule with id {rule_id!r} (known: {known})", rule_id=rule_id)
        return explain_rule(rule, analyze(text))


def compile_rules(defs: Iterable[RuleDef], regex_budget: float | None = REGEX_POST_BUDGET) -> RuleSet:
    """Compile every rule or none: the first bad one raises RuleSyntaxError.

    `regex_budget`: seconds every /regex/ term of every rule may spend on one post together
    (DOZOR_REGEX_BUDGET); past it the rest count as false and the rule cut is logged."""
    defs = tuple(defs)
    seen: set[str] = set()
    rules = []
    for defn in defs:
        if defn.id in seen:
            raise RuleSyntaxError("this id is used by another rule", rule_id=defn.id, where="id")
        seen.add(defn.id)
        rules.append(compile_rule(defn))
    return RuleSet(defs, rules, regex_budget)
