"""The query language: a lexer and a recursive-descent parser into `nodes`.

Precedence, loosest first: OR (`|`), AND (`&` or juxtaposition),
NEAR/n and ONEAR/n, NOT (`-`), then terms and parentheses.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import regex

from bot.rules.errors import RuleSyntaxError, position
from bot.rules.nodes import And, Hashtag, Near, Not, Or, Phrase, Prefix, Regex, Word
from bot.text import _fold_lookalikes, analyze, normalize

_WORD = re.compile(r"[^\W_](?:[\w'’ʼ\-]*[^\W_])?\*?")
_NEAR = re.compile(r"(O?NEAR)/(\d+)")
_SLASH_OPERATOR = re.compile(r"([A-Za-z]+)/(\d+)")  # near/3, NAER/3: a word with /n is meant as NEAR
_OPERATORS = ("AND", "OR", "NOT", "NEAR", "ONEAR")
_TAG = re.compile(r"#(\w[\w']*)")
MAX_DEPTH = 100


@dataclass
class Lexeme:
    kind: str  # WORD PREFIX PHRASE TAG REGEX AND OR NOT NEAR LP RP EQ END
    value: str
    pos: int
    extra: object = None


def _error(query: str, pos: int, reason: str) -> RuleSyntaxError:
    if pos >= len(query.rstrip()):  # at the end: point just after the last character
        pos = len(query.rstrip())
    line, column = position(query, pos)
    return RuleSyntaxError(reason, line=line, column=column, text=query)


def _read_quoted(query: str, i: int, close: str) -> tuple[str, int]:
    """Text between quotes (or slashes) starting after index i; a backslash escapes."""
    out, j = [], i + 1
    while j < len(query):
        ch = query[j]
        if ch == "\\" and j + 1 < len(query):
            nxt = query[j + 1]
            out.append(nxt if (nxt == close and close == '"') else ch + nxt)
            j += 2
            continue
        if ch == close:
            return "".join(out), j + 1
        out.append(ch)
        j += 1
    what = "phrase" if close == '"' else "regular expression"
    raise _error(query, i, f"this {what} is never closed (add {close})")


def lex(query: str) -> list[Lexeme]:
    """Split a query into lexemes with their character positions."""
    out: list[Lexeme] = []
    i = 0
    symbols = {"(": "LP", ")": "RP", "&": "AND", "|": "OR", "-": "NOT", "=": "EQ"}
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in symbols:
            out.append(Lexeme(symbols[ch], ch, i))
            i += 1
        elif ch == '"':
            text, end = _read_quoted(query, i, '"')
            out.append(Lexeme("PHRASE", text, i))
            i = end
        elif ch == "/":
            text, end = _read_quoted(query, i, "/")
            flags = re.match(r"[a-z]*", query[end:]).group()
            out.append(Lexeme("REGEX", text, i, flags))
            i = end + len(flags)
        elif ch == "#":
            m = _TAG.match(query, i)
            if not m:
                raise _error(query, i, "a hashtag needs letters after #")
            out.append(Lexeme("TAG", m.group(1), i))
            i = m.end()
        elif (m := _NEAR.match(query, i)) and not _is_wordchar(query, m.end()):
            out.append(Lexeme("NEAR", m.group(1), i, int(m.group(2))))
            i = m.end()
        elif ((m := _SLASH_OPERATOR.match(query, i)) and not _is_wordchar(query, m.end())
              and (reason := _slash_operator_reason(m.group(1), m.group(2)))):
            raise _error(query, i, reason)
        elif m := _WORD.match(query, i):
            out.append(_word_lexeme(query, m.group(), i))
            i = m.end()
        else:
            raise _error(query, i, f"unexpected character {ch!r}")
    out.append(Lexeme("END", "", len(query)))
    return out


def _word_lexeme(query: str, word: str, i: int) -> Lexeme:
    if word in ("NEAR", "ONEAR"):
        raise _error(query, i, f"{word} needs a distance, e.g. {word}/5")
    if word.endswith("*"):
        return Lexeme("PREFIX", word, i)
    return Lexeme({"AND": "AND", "OR": "OR", "NOT": "NOT"}.get(word, "WORD"), word, i)


def _slash_operator_reason(word: str, distance: str) -> str | None:
    """Why `near/3` or `NAER/3` is wrong, or None for a word that is not meant as NEAR."""
    meant = word.upper() if word.upper() in ("NEAR", "ONEAR") else near_miss(word.upper())
    if meant in ("NEAR", "ONEAR"):
        if word.upper() == meant:
            return f"operators are written in capitals: {meant}/{distance}"
        return f"{word}/{distance} is not an operator; did you mean {meant}/{distance}?"
    return None


def near_miss(word: str) -> str | None:
    """The operator that a capitalised word misspells by one letter (ANDD, NAER, NTO), or None."""
    for op in _OPERATORS:
        if word != op and len(op) >= 3 and _one_edit_apart(word, op):
            return op
    return "OR" if word in ("ORR", "RO") else None


def _one_edit_apart(a: str, b: str) -> bool:
    """One letter added, dropped, changed, or two neighbours swapped."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [k for k in range(len(a)) if a[k] != b[k]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1
                                  and a[diff[0]] == b[diff[1]] and a[diff[1]] == b[diff[0]])
    short, long_ = sorted((a, b), key=len)
    return any(long_[:k] + long_[k + 1:] == short for k in range(len(long_)))


_NEAR_NO_SLASH = re.compile(r"^(O?NEAR)(\d+)$")


def query_warnings(query: str) -> list[RuleSyntaxError]:
    """What parses but is probably not meant: `or` read as a word, ANDD, NEAR3 (the query must lex)."""
    found = []
    lexemes = lex(query)
    for k, lexeme in enumerate(lexemes):
        if lexeme.kind != "WORD":
            continue
        word = lexeme.value
        if word in ("and", "or", "not") and _between_terms(lexemes, k):
            reason = (f"{word!r} is searched as a word; operators are written in capitals: "
                      f"{word.upper()}")
        elif m := _NEAR_NO_SLASH.match(word):
            reason = f"{word} is searched as a word; did you mean {m.group(1)}/{m.group(2)}?"
        elif word.isascii() and word.isupper() and (meant := near_miss(word)):
            reason = f"{word} is searched as a word; did you mean the operator {meant}?"
        else:
            continue
        error = _error(query, lexeme.pos, reason)
        found.append(error)
    return found


_TERM_END = ("WORD", "PREFIX", "PHRASE", "TAG", "REGEX", "RP")
_TERM_START = ("WORD", "PREFIX", "PHRASE", "TAG", "REGEX", "LP", "EQ", "NOT")


def _between_terms(lexemes: list[Lexeme], k: int) -> bool:
    """A lower-case operator word standing where an operator would (`a or b`, not `x OR not`)."""
    before = lexemes[k - 1].kind if k else ""
    after = lexemes[k + 1].kind
    return (before in _TERM_END and after in _TERM_START) or (not k and lexemes[k].value == "not"
                                                            and after in _TERM_START)


def _is_wordchar(query: str, i: int) -> bool:
    return i < len(query) and (query[i].isalnum() or query[i] == "_")


def _clean(word: str) -> str:
    norm, _, _ = normalize(word)
    return _fold_lookalikes(norm)


class Parser:
    """Recursive descent over lexemes; every error carries its position."""

    def __init__(self, query: str, max_regex: int | None = None, who: str = "a query", used: int = 0):
        self.query = query
        self.lexemes = lex(query)
        self.i = 0
        self.depth = 0
        self.max_regex = max_regex
        self.regexes_left = None if max_regex is None else max_regex - used
        self.who = who

    def peek(self) -> Lexeme:
        return self.lexemes[self.i]

    def take(self) -> Lexeme:
        lexeme = self.lexemes[self.i]
        self.i += 1
        return lexeme

    def fail(self, lexeme: Lexeme, reason: str) -> RuleSyntaxError:
        return _error(self.query, lexeme.pos, reason)

    def parse(self):
        if self.peek().kind == "END":
            raise self.fail(self.peek(), "the query is empty")
        node = self.parse_or()
        if self.peek().kind != "END":
            lexeme = self.peek()
            raise self.fail(lexeme, "unmatched )" if lexeme.kind == "RP" else f"unexpected {lexeme.value!r}")
        return node

    def parse_or(self):
        children = [self.parse_and()]
        while self.peek().kind == "OR":
            self.take()
            children.append(self.parse_and())
        return children[0] if len(children) == 1 else Or(children)

    def parse_and(self):
        children = [self.parse_near()]
        while self.peek().kind not in ("OR", "RP", "END"):
            if self.peek().kind == "AND":
                self.take()
            children.append(self.parse_near())
        return children[0] if len(children) == 1 else And(children)

    def parse_near(self):
        node = self.parse_unary()
        while self.peek().kind == "NEAR":
            op = self.take()
            node = Near(node, self.parse_unary(), op.extra, op.value == "ONEAR")
        return node

    def parse_unary(self):
        if self.peek().kind == "NOT":
            self.take()
            return Not(self._nested(self.parse_unary))
        return self.parse_primary()

    def _nested(self, parse):
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(self.peek(), "the query nests too deeply")
        try:
            return parse()
        finally:
            self.depth -= 1

    def parse_primary(self):
        lexeme = self.take()
        if lexeme.kind == "LP":
            node = self._nested(self.parse_or)
            if self.take().kind != "RP":
                raise self.fail(lexeme, "this ( is never closed")
            return node
        if lexeme.kind == "EQ":
            target = self.take()
            if target.kind == "WORD":
                return self.word(target, exact=True)
            if target.kind == "PHRASE":
                return self.phrase(target, exact=True)
            raise self.fail(lexeme, "= must be followed by a word or a \"phrase\"")
        if lexeme.kind == "WORD":
            return self.word(lexeme)
        if lexeme.kind == "PREFIX":
            return self.prefix(lexeme)
        if lexeme.kind == "PHRASE":
            return self.phrase(lexeme)
        if lexeme.kind == "TAG":
            return Hashtag(_clean(lexeme.value))
        if lexeme.kind == "REGEX":
            return self.regex(lexeme)
        if lexeme.kind == "END":
            raise self.fail(lexeme, "the query ends where a word was expected")
        raise self.fail(lexeme, f"expected a word, a \"phrase\" or ( here, not {lexeme.value!r}")

    def word(self, lexeme: Lexeme, exact: bool = False):
        parts = [p for p in _clean(lexeme.value).split("-") if p]
        if len(parts) > 1:
            return Phrase([Word(p, exact) for p in parts], exact)
        return Word(parts[0], exact)

    def prefix(self, lexeme: Lexeme):
        stem = _clean(lexeme.value[:-1])
        if sum(ch.isalnum() for ch in stem) < 3 or "-" in stem:
            raise self.fail(lexeme, "a prefix needs at least 3 letters before * (e.g. мобилиз*)")
        return Prefix(stem)

    def phrase(self, lexeme: Lexeme, exact: bool = False):
        # each word is folded on its own: a Latin word beside a Cyrillic one stays Latin
        words = [Word(tok.text, exact) for tok in analyze(normalize(lexeme.value)[0]).tokens]
        if not words:
            raise self.fail(lexeme, "the phrase has no words")
        return words[0] if len(words) == 1 else Phrase(words, exact)

    def regex(self, lexeme: Lexeme):
        if self.regexes_left is not None:
            if self.regexes_left <= 0:
                terms = "one /regex/ term" if self.max_regex == 1 else f"{self.max_regex} /regex/ terms"
                raise self.fail(lexeme, f"{self.who} may hold at most {terms}; this one is too many "
                                        "(write words, \"phrases\" or prefix* instead)")
            self.regexes_left -= 1
        if set(lexeme.extra) - {"i"}:
            raise self.fail(lexeme, f"unknown regular expression flag in {lexeme.extra!r} (only i)")
        try:
            return Regex(lexeme.value, lexeme.extra)
        except regex.error as exc:
            raise self.fail(lexeme, f"bad regular expression: {exc}") from None


def parse_query(query: str, max_regex: int | None = None, who: str = "a query", used: int = 0):
    """Parse a query into a node tree; raises RuleSyntaxError with the position.

    `max_regex` caps its /regex/ terms, `used` of them spent elsewhere (a rule's query, when
    this is its exclude); the error, naming `who`, points at the first one too many.
    """
    try:
        return Parser(query, max_regex, who, used).parse()
    except RecursionError:
        raise _error(query, 0, "the query nests too deeply") from None
