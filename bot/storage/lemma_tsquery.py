"""FTS5 lemma queries as PostgreSQL `tsquery`, lemma text as `tsvector` (pure; see lemma_index.py).

Both sides split text as SQLite's `unicode61` tokenizer does (letters, digits and private-use
characters make tokens; case folded), so a post's lexemes on PostgreSQL are its FTS5 tokens.
The FTS5 we generate (bot/rules/nodes.py) is quoted words, `"word"*` prefixes, AND, OR, NOT and
parentheses; a quoted string of several tokens becomes their AND (a superset of the phrase,
which the matcher re-checks), one of none matches nothing.
"""
from __future__ import annotations

import regex

from bot.errors import StorageError

_TOKEN = regex.compile(r"[\p{L}\p{N}\p{Co}]+")
_FTS = regex.compile(r'\s*(?:(")((?:[^"]|"")*)"(\*?)|(\()|(\))|(AND|OR|NOT)\b)')
NOTHING = "'!'"  # never a lexeme: tokens are letters and digits


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def tsvector_literal(lemmas: str) -> str:
    """The `tsvector` input text of a post's lemma text: each distinct token once, no positions."""
    return " ".join(f"'{t}'" for t in sorted(set(tokens(lemmas))))


def _term(word: str, prefix: bool) -> str:
    found = tokens(word)
    if not found:
        return NOTHING
    lexemes = [f"'{t}'" for t in found]
    if prefix:
        lexemes[-1] += ":*"
    return lexemes[0] if len(lexemes) == 1 else "(" + " & ".join(lexemes) + ")"


def fts5_to_tsquery(fts: str) -> str:
    out, pos = [], 0
    while pos < len(fts.rstrip()):
        m = _FTS.match(fts, pos)
        if not m:
            raise StorageError(f"cannot turn this FTS5 query into a tsquery: {fts[pos:pos + 40]!r}")
        pos = m.end()
        if m.group(1):
            out.append(_term(m.group(2).replace('""', '"'), bool(m.group(3))))
        elif m.group(4) or m.group(5):
            out.append(m.group(4) or m.group(5))
        else:
            out.append({"AND": "&", "OR": "|", "NOT": "& !"}[m.group(6)])
    return " ".join(out)
