"""Text handling for matching: normalization with offsets, tokens, lemmas.

`analyze(text)` turns a post into a `Doc`: the normalized text (NFC, invisible
characters and stress accents dropped, apostrophes unified, Latin look-alikes
folded inside mixed-script words and in all-look-alike words beside Cyrillic
ones), its tokens with lemmas, and a map from
normalized offsets back to the original text, so spans highlight what the
reader sees. Russian and Ukrainian words get pymorphy3 lemmas (the analyzer
is chosen by letters: і ї є ґ mean Ukrainian); Latin words get every lemma
lemminflect knows for them (inflection only, so "deserters" never meets
"desert" and "mobile" never meets "mobilization"; chosen over simplemma by
bench/english_lemmas.py, figures in docs/BENCHMARKS.md). Every lemma is cached
per word.
"""
from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

CACHE_WORDS = 60_000  # distinct words whose analysis is kept (about 1 KiB each)

# Characters that split words without being seen: soft hyphen, zero-width
# space/joiners, word joiner, BOM, direction marks and embeddings.
INVISIBLE = frozenset(
    "\u00ad\u200b\u200c\u200d\u2060\ufeff\u200e\u200f\u061c\u180e"
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
)
STRESS = frozenset("\u0301\u0300\u0341\u0340")  # stress accents, dropped
APOSTROPHES = frozenset("\u2019\u02bc\u0060\u2018\u00b4\u02b9\u2032")  # -> '
_SPECIAL = re.compile(
    "[" + "".join(sorted(INVISIBLE | APOSTROPHES)) + "\u0300-\u036f]"
)
_HARD = re.compile("[" + "".join(sorted(INVISIBLE)) + "\u0300-\u036f]")
_APOSTROPHE_TABLE = str.maketrans({ch: "'" for ch in APOSTROPHES})
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_HASHTAG = re.compile(r"#(\w[\w']*)")
_CYR = re.compile(r"[а-яёіїєґ]", re.I)
_LAT = re.compile(r"[a-z]", re.I)
_UK_ONLY = frozenset("іїєґ")
_RU_ONLY = frozenset("ыэъё")

# Latin letters that look like Cyrillic ones, folded inside mixed-script words.
_LOOKALIKE = str.maketrans(
    "aceopxyiABCEHKMOPTXYI", "асеорхуіАВСЕНКМОРТХУІ"
)


@dataclass(slots=True)
class Token:
    text: str  # normalized form, case kept (look-alikes folded, ё kept)
    lower: str  # lower case, ё -> е
    start: int  # offsets into the normalized text
    end: int
    lang: str  # "ru", "uk", "en" or "" (digits, other scripts)
    keys: frozenset[str] = frozenset()  # lemmas, the lower form, "*" + 3/4-letter prefixes
    tag: int = -1  # index into Doc.hashtags when the token is part of one


@dataclass(slots=True)
class Doc:
    original: str
    text: str  # normalized
    tokens: list[Token]
    hashtags: list[str]  # lower case, ё folded, without '#'
    lang: str
    starts: list[int] | None = None  # normalized offset -> original offset (None: identity)
    ends: list[int] | None = None
    _by_key: dict[str, list[int]] | None = field(default=None, repr=False)
    _keyset: set[str] | None = field(default=None, repr=False)
    _scope: frozenset[str] | None = field(default=None, repr=False)
    regex_budget: object = field(default=None, repr=False)  # bot.rules.nodes.RegexBudget of this post

    def by_key(self, wanted: frozenset[str] | None = None) -> dict[str, list[int]]:
        """Token indices per lemma/lower-form key, built once.

        `wanted` (all keys a rule set can ask for) limits the index to those
        keys; a later call asking for keys outside that scope rebuilds it whole.
        """
        if self._by_key is not None and (self._scope is None or
                                         (wanted is not None and wanted <= self._scope)):
            return self._by_key
        scope = None if wanted is None else self._keyset & wanted
        index: dict[str, list[int]] = {}
        for i, tok in enumerate(self.tokens):
            keys = tok.keys if scope is None else tok.keys & scope
            for key in keys:
                found = index.get(key)
                if found is None:
                    index[key] = [i]
                else:
                    found.append(i)
        self._by_key, self._scope = index, (None if wanted is None else wanted)
        return index

    def keyset(self) -> set[str]:
        """Every index key the text offers: lemmas, forms, 3- and 4-letter prefixes."""
        if self._keyset is None:
            self._keyset = set().union(*(tok.keys for tok in self.tokens))
        return self._keyset

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalized text to the original text."""
        if self.starts is None:
            return start, end
        if start >= end:
            pos = self.starts[start] if start < len(self.starts) else len(self.original)
            return pos, pos
        return self.starts[start], self.ends[end - 1]


def fold(word: str) -> str:
    """Lower case with ё folded to е: the form every comparison uses."""
    return word.lower().replace("ё", "е")


def normalize(text: str) -> tuple[str, list[int] | None, list[int] | None]:
    """Normalized text and, unless it equals the input, the offset maps back."""
    if not _SPECIAL.search(text) and unicodedata.is_normalized("NFC", text):
        return text, None, None
    if not _HARD.search(text) and unicodedata.is_normalized("NFC", text):
        return text.translate(_APOSTROPHE_TABLE), None, None  # same length, same offsets
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for j, ch in enumerate(text):
        if ch in INVISIBLE or ch in STRESS:
            continue
        if ch in APOSTROPHES:
            ch = "'"
        if unicodedata.combining(ch):
            if out:
                composed = unicodedata.normalize("NFC", out[-1] + ch)
                if len(composed) == 1:
                    out[-1] = composed
                    ends[-1] = j + 1
            continue
        base = unicodedata.normalize("NFD", ch)
        if len(base) > 1 and any(c in STRESS for c in base):
            ch = unicodedata.normalize("NFC", "".join(c for c in base if c not in STRESS))
        for c in ch:
            out.append(c)
            starts.append(j)
            ends.append(j + 1)
    return "".join(out), starts, ends


def script_lang(word: str, default: str = "ru") -> str:
    """The language whose analyzer fits a lower-case word's letters."""
    if _CYR.search(word):
        letters = set(word)
        if letters & _UK_ONLY:
            return "uk"
        if letters & _RU_ONLY:
            return "ru"
        return default if default in ("ru", "uk") else "ru"
    if _LAT.search(word):
        return "en"
    return ""


def detect_lang(text: str) -> str:
    """"ru", "uk" or "en" by letters; "" when the text has no letters we know."""
    low = text.lower()
    cyr = len(_CYR.findall(low))
    lat = len(_LAT.findall(low))
    if not cyr and not lat:
        return ""
    if lat > cyr:
        return "en"
    uk = sum(low.count(c) for c in _UK_ONLY)
    ru = sum(low.count(c) for c in _RU_ONLY)
    return "uk" if uk > ru else "ru"


_ZERO_IN_WORD = re.compile(r"(?<=[а-яё])0|0(?=[а-яё])", re.I)


def _fold_lookalikes(word: str) -> str:
    """Latin look-alikes (and a zero for о) inside Cyrillic words become Cyrillic."""
    if not _CYR.search(word):
        return word
    if _LAT.search(word):
        word = word.translate(_LOOKALIKE)
    if "0" in word and not any(c.isdigit() and c != "0" for c in word):
        word = _ZERO_IN_WORD.sub(lambda m: "О" if _upper_near(m.string, m.start()) else "о", word)
    return word


def _upper_near(word: str, i: int) -> bool:
    near = word[max(i - 1, 0):i] + word[i + 1:i + 2]
    return bool(near) and near.isupper()


@lru_cache(maxsize=2)
def _morph(lang: str):
    import pymorphy3

    return pymorphy3.MorphAnalyzer(lang=lang)


LEMMA_VERSION = 2  # changes when a word's lemmas change (the lemma index is rebuilt); 2: lemminflect
_BRITISH = re.compile(r"(il|al|an|og|or|en|ar|ial|iz)is(e|ed|es|ing|ation|ations)$")
_POS_ORDER = ("VERB", "NOUN", "ADJ", "ADV", "PROPN", "AUX")  # which lemma comes first when there are several


@lru_cache(maxsize=1)
def _lemminflect():
    import lemminflect

    return lemminflect


@lru_cache(maxsize=CACHE_WORDS)
def english_lemmas(word: str) -> tuple[str, ...]:
    """Every lemma lemminflect knows for an English word, of any part of speech, verbs first
    ("left" -> leave, left; "summonses" -> summons); an unknown word is its own lemma, or its
    regular singular. Inflection only, never derivation: "deserters" stays apart from "desert",
    "mobilization" from "mobile". -ise spellings become -ize (mobilised -> mobilize)."""
    w = word.lower().replace("'", "")
    if word.lower().endswith("'s"):
        w = w[:-1]
    if len(w) < 3 or not w.isalpha():  # "a", "of", URL pieces and codes with digits: as written
        return (w,)
    lemminflect = _lemminflect()
    found = lemminflect.getAllLemmas(w)
    ordered = [lemma for pos in sorted(found, key=lambda p: _POS_ORDER.index(p) if p in _POS_ORDER else 99)
               for lemma in found[pos]]
    if not ordered:  # a name or a new word: its regular singular too ("Wagnerites" -> wagnerite)
        plural = len(w) > 3 and w.endswith("s") and not w.endswith("ss")
        ordered = [w] + ([x for x in lemminflect.getAllLemmasOOV(w, "NOUN").get("NOUN", ()) if x != w]
                         if plural else [])
    out: list[str] = []
    for lemma in ordered:
        lemma = _BRITISH.sub(lambda m: m.group(1) + "iz" + m.group(2), lemma.lower())
        if lemma not in out:
            out.append(lemma)
    return tuple(out)


def english_lemma(word: str) -> str:
    """The first of `english_lemmas` (the one the lemma index lists first)."""
    return english_lemmas(word)[0]


@lru_cache(maxsize=CACHE_WORDS)
def word_keys(lower: str, lang: str) -> frozenset[str]:
    """Index keys of a lower-case, ё-folded word: its lemmas, the word itself, and
    "*" + its first 3 and 4 letters (for prefix queries)."""
    keys = {lower}
    if len(lower) >= 3:  # prefix keys for the rule index ("*" never occurs in a word)
        keys.update(("*" + lower[:3], "*" + lower[:4]))
    if lang in ("ru", "uk"):
        for parse in _morph(lang).parse(lower):
            keys.add(parse.normal_form.replace("ё", "е"))
    elif lang == "en":
        keys.update("~" + lemma for lemma in english_lemmas(lower))
    return frozenset(keys)


def first_lemma(lower: str, lang: str) -> str:
    """One lemma for a word: the best pymorphy3 parse or the English lemma."""
    if lang in ("ru", "uk"):
        parses = _morph(lang).parse(lower)
        return parses[0].normal_form.replace("ё", "е") if parses else lower
    if lang == "en":
        return english_lemma(lower)
    return lower


_first_lemma = lru_cache(maxsize=CACHE_WORDS)(first_lemma)


@lru_cache(maxsize=CACHE_WORDS)
def _word_info(word: str) -> tuple[str, str, str]:
    """(look-alikes folded, lower-case ё-folded, script) of a raw token; cached."""
    fixed = _fold_lookalikes(word)
    lower = fold(fixed)
    if _CYR.search(lower):
        letters = set(lower)
        script = "uk" if letters & _UK_ONLY else "ru" if letters & _RU_ONLY else "cyr"
    else:
        script = "en" if _LAT.search(lower) else ""
    return fixed, lower, script


def _doc_lang(scripts: list[str]) -> str:
    counts = Counter(scripts)
    cyr = counts["ru"] + counts["uk"] + counts["cyr"]
    if not cyr and not counts["en"]:
        return ""
    if counts["en"] > cyr:
        return "en"
    return "uk" if counts["uk"] > counts["ru"] else "ru"


@lru_cache(maxsize=CACHE_WORDS)
def _token_info(word: str, cyr_lang: str) -> tuple[str, str, str, frozenset[str]]:
    """(folded form, lower, language, index keys) of a raw word; cached."""
    fixed, lower, script = _word_info(word)
    lang = cyr_lang if script == "cyr" else script
    return fixed, lower, lang, word_keys(lower, lang)


def analyze(text: str) -> Doc:
    """Normalize, tokenize and lemmatize a text (pure; lemmas are cached)."""
    norm, starts, ends = normalize(text)
    matches = list(_TOKEN.finditer(norm))
    words = [m.group() for m in matches]
    scripts = [_word_info(word)[2] for word in words]
    doc_lang = _doc_lang(scripts)
    cyr_lang = doc_lang if doc_lang in ("ru", "uk") else "ru"
    latin_fixed = _fold_latin_words(words, scripts) if cyr_lang == doc_lang else words
    infos = [_token_info(word, cyr_lang) for word in latin_fixed]
    tokens = [Token(fixed, lower, m.start(), m.end(), lang, keys)
              for m, (fixed, lower, lang, keys) in zip(matches, infos)]
    if any(info[0] != word for info, word in zip(infos, words)):
        chars = list(norm)
        for tok in tokens:
            chars[tok.start:tok.end] = tok.text
        norm = "".join(chars)
    hashtags = _mark_hashtags(norm, tokens) if "#" in norm else []
    doc = Doc(text, norm, tokens, hashtags, doc_lang, starts, ends)
    doc._keyset = set().union(*(info[3] for info in infos))
    return doc


_LOOKALIKE_LETTERS = frozenset("aceopxyiABCEHKMOPTXYI")


@lru_cache(maxsize=4096)
def _known_word(lower: str) -> bool:
    return _morph("ru").word_is_known(lower) or _morph("uk").word_is_known(lower)


def _fold_latin_words(words: list[str], scripts: list[str]) -> list[str]:
    """In a Cyrillic text, words spelled wholly in Latin look-alikes next to a
    Cyrillic word ("c фронта", "HA ПОЗИЦІЇ", "BOEHKOMAT Пскова") read as Cyrillic
    when the dictionary knows that reading; a capitalised word of two or three
    letters only beside a capitalised word (so "IT специалист" stays Latin)."""
    out, cyr = list(words), [script in ("ru", "uk", "cyr") for script in scripts]
    candidates = [i for i, w in enumerate(words)
                  if scripts[i] == "en" and _LOOKALIKE_LETTERS.issuperset(w)
                  and _known_word(fold(w.translate(_LOOKALIKE)))]

    def beside(i: int, j: int) -> bool:
        if not 0 <= j < len(words) or not cyr[j]:
            return False
        return not 1 < len(words[i]) <= 3 or not words[i].isupper() or out[j].isupper()

    for order in (candidates, candidates[::-1]):  # both ways, for runs of such words
        for i in order:
            if not cyr[i] and (beside(i, i - 1) or beside(i, i + 1)):
                out[i], cyr[i] = words[i].translate(_LOOKALIKE), True
    return out


def _mark_hashtags(norm: str, tokens: list[Token]) -> list[str]:
    tags: list[str] = []
    spans = [(m.start(1), m.end(1), fold(m.group(1))) for m in _HASHTAG.finditer(norm)]
    if not spans:
        return tags
    k = 0
    for index, (start, end, tag) in enumerate(spans):
        tags.append(tag)
        while k < len(tokens) and tokens[k].end <= start:
            k += 1
        j = k
        while j < len(tokens) and tokens[j].start < end:
            tokens[j].tag = index
            j += 1
    return tags


def clear_caches() -> None:
    """Forget every cached word analysis (benchmarks measure a cold start with it)."""
    for cached in (_word_info, _token_info, word_keys, _first_lemma, _known_word, english_lemmas):
        cached.cache_clear()


def lemma_text(text: str) -> str:
    """The text's lemmas, space-joined in order (for an FTS5 index): one per Russian or Ukrainian
    token, every lemma of an English one (so a query word sharing any of them is found)."""
    return doc_lemma_text(analyze(text))


def doc_lemma_text(doc: Doc) -> str:
    """`lemma_text` of a text already analyzed (the pipeline indexes the Doc it matched)."""
    return " ".join(" ".join(english_lemmas(tok.lower)) if tok.lang == "en" else _first_lemma(tok.lower, tok.lang)
                    for tok in doc.tokens)


def utf16_offset(text: str, index: int) -> int:
    """A Python str index as Telegram counts it (UTF-16 code units)."""
    return len(text[:index].encode("utf-16-le")) // 2
