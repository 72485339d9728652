"""The daily digest as text: plain for a terminal, Telegram HTML split into messages.

Pure: a Digest (bot/digest/build.py) in, strings out. Every piece of post text
and every title is escaped in HTML; times are shown in the digest's zone.
"""
from __future__ import annotations

import re

from bot.digest.build import CountLine, Digest
from bot.formatting import compact_count, escape, excerpt, format_time, plural

MESSAGE_LIMIT = 4096
SAFE_LIMIT = 4000  # leave room under Telegram's 4,096 for entities and our own slack
EXCERPT_CHARS = 160


def story_excerpt(text: str) -> str:
    """One line of a post for a digest line: the shared excerpt, no highlights."""
    return excerpt(text, (), EXCERPT_CHARS, mark=("", ""))


def render_text(digest: Digest) -> str:
    """Plain text for a terminal (no HTML)."""
    return "\n".join(_lines(digest, _plain))


def render_html(digest: Digest, limit: int = SAFE_LIMIT) -> list[str]:
    """Telegram HTML, every text escaped, split at line boundaries into messages under `limit`."""
    return split_message("\n".join(_lines(digest, _markup)), limit)


def split_message(text: str, limit: int = SAFE_LIMIT) -> list[str]:
    """Split at line boundaries so each part is at most `limit` characters.

    A line longer than `limit` is cut at a space outside any tag, else between two
    characters, never inside a tag or an entity (`&amp;`); tags open at the cut are
    closed at the end of one part and opened again at the start of the next, so
    every part is valid Telegram HTML on its own.
    """
    parts: list[str] = []
    current = ""
    for whole in text.split("\n"):
        *pieces, line = split_line(whole, limit)
        if pieces and current:
            parts.append(current)
            current = ""
        parts.extend(pieces)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            parts.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        parts.append(current)
    return [p.strip("\n") for p in parts if p.strip()]


_ATOM = re.compile(r"<[^<>]*>|&#?\w+;|[\s\S]")  # a tag, an entity, or one character
_TAG_NAME = re.compile(r"<(/?)([A-Za-z][\w-]*)")


def split_line(line: str, limit: int) -> list[str]:
    """One line of HTML as parts of at most `limit` characters (one part if it fits)."""
    if len(line) <= limit:
        return [line]
    atoms = _ATOM.findall(line)
    parts: list[str] = []
    start, stack = 0, []
    while True:
        end, next_start, closed = _cut(atoms, start, stack, limit)
        part = "".join(tag for _, tag in stack) + "".join(atoms[start:end])
        parts.append(part + "".join(f"</{name}>" for name, _ in reversed(closed)))
        if next_start >= len(atoms):
            return parts
        start, stack = next_start, closed


def _cut(atoms: list[str], start: int, stack: list, limit: int) -> tuple[int, int, list]:
    """(end of this part, start of the next, tags open at the end) for atoms from `start`."""
    open_tags = list(stack)
    size = sum(len(tag) for _, tag in open_tags)
    best = None  # the last space outside a tag: (its index, the tags open there)
    for i in range(start, len(atoms)):
        atom = atoms[i]
        after = _apply(open_tags, atom)
        closing = sum(len(name) + 3 for name, _ in after)
        if size + len(atom) + closing > limit and i > start:
            if best is not None:
                return best[0], best[0] + 1, best[1]
            return i, i, open_tags
        if atom == " " and i > start:
            best = (i, list(open_tags))
        size += len(atom)
        open_tags = after
    return len(atoms), len(atoms), open_tags


def _apply(open_tags: list, atom: str) -> list:
    """The open tags after `atom`: an opening tag pushes (name, tag), a closing one pops."""
    found = _TAG_NAME.match(atom) if atom.startswith("<") and len(atom) > 1 else None
    if found is None:
        return open_tags
    closing, name = found.group(1), found.group(2).lower()
    if not closing:
        return open_tags + [(name, atom)]
    for k in range(len(open_tags) - 1, -1, -1):
        if open_tags[k][0] == name:
            return open_tags[:k] + open_tags[k + 1:]
    return open_tags


class _plain:
    @staticmethod
    def bold(text: str) -> str:
        return text

    @staticmethod
    def text(text: str) -> str:
        return text

    @staticmethod
    def link(label: str, url: str | None) -> str:
        return f"{label} {url}" if url else label


class _markup:
    @staticmethod
    def bold(text: str) -> str:
        return f"<b>{escape(text)}</b>"

    @staticmethod
    def text(text: str) -> str:
        return escape(text)

    @staticmethod
    def link(label: str, url: str | None) -> str:
        if not url:
            return escape(label)
        return f'{escape(label)} <a href="{escape(url, quote=True)}">→</a>'


def _period_label(digest: Digest) -> str:
    start = format_time(digest.start, digest.tz, with_zone=False)
    end = format_time(digest.end, digest.tz, with_zone=False)
    return f"{start} – {end} ({digest.tz})"


def _lines(digest: Digest, fmt) -> list[str]:
    title = f"Dozor digest, {_period_label(digest)}"
    if digest.empty:
        return [fmt.bold(title) + fmt.text(f": no matches among {plural(digest.posts_read, 'post')} read.")]
    lines = [fmt.bold(title),
             fmt.text(f"Posts read: {digest.posts_read}; matched: {digest.posts_matched}.")]
    lines += _count_section("By topic", digest.topics, fmt)
    lines += _count_section("By rule", digest.rules, fmt)
    if digest.days:
        lines += ["", fmt.bold("By day")]
        lines += [fmt.text(f"{day:%d.%m.%Y}: {count}") for day, count in digest.days]
    if digest.channels:
        lines += ["", fmt.bold("Channels that reported most")]
        lines += [fmt.text(f"{name}: {count}") for name, count in digest.channels]
    lines += _story_section(digest, fmt)
    if digest.deleted:
        lines += ["", fmt.bold("Deleted after the alert")]
        for post in digest.deleted:
            when = f" (deleted {format_time(post.deleted_at, digest.tz, '%d.%m %H:%M', False)})" if post.deleted_at else ""
            lines.append(fmt.link(f"{post.channel_name}: {story_excerpt(post.text)}{when}", post.link))
    return lines


def _count_section(heading: str, lines: tuple[CountLine, ...], fmt) -> list[str]:
    if not lines:
        return []
    out = ["", fmt.bold(heading)]
    for line in lines:
        text = f"{line.label}: {line.count}"
        if line.previous is not None:
            text += f" ({_signed(line.count - line.previous)} vs day before, 7-day avg {line.average:.1f})"
        out.append(fmt.text(text))
    return out


def _signed(delta: int) -> str:
    return f"+{delta}" if delta > 0 else ("±0" if delta == 0 else str(delta))


def reach_text(story) -> str:
    """' · 👁 12.3k · ↗ 40' (views, then forwards) when known, else ''."""
    text = f" · 👁 {compact_count(story.reach)}" if story.reach else ""
    return text + (f" · ↗ {compact_count(story.forwards)}" if story.forwards else "")


def _story_section(digest: Digest, fmt) -> list[str]:
    if not digest.stories:
        return []
    heading = "Top stories by reach" if any(s.reach for s in digest.stories) else "Top stories"
    if digest.story_count > len(digest.stories):
        heading += f" ({len(digest.stories)} of {digest.story_count})"
    out = ["", fmt.bold(heading)]
    for n, story in enumerate(digest.stories, 1):
        where = story.first.channel_name
        if story.channel_count > 1:
            where += f" + {story.channel_count - 1} more, {story.channel_count} channels"
        rules = f" [{', '.join(story.rules)}]" if story.rules else ""
        out.append(fmt.link(f"{n}. {story_excerpt(story.first.text)} ({where}){rules}{reach_text(story)}",
                            story.first.link))
    return out
