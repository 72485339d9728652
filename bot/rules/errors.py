"""The one error the rule engine raises for anything an operator wrote wrong."""
from __future__ import annotations

from bot.errors import DozorError


class RuleSyntaxError(DozorError):
    """A rule or query cannot be read: names the rule, line and column (1-based)."""

    def __init__(self, reason: str, *, rule_id: str | None = None, line: int = 1,
                 column: int = 1, text: str = "", where: str = "query"):
        self.reason = reason
        self.rule_id = rule_id
        self.line = line
        self.column = column
        self.text = text  # the whole query (or file) the position points into
        self.where = where
        super().__init__(self._render())

    def _render(self) -> str:
        who = [f"rule {self.rule_id!r}"] if self.rule_id else []
        if not self.text:  # nothing to point into (a missing file, an unknown id)
            return ", ".join(who + ([self.where] if self.where != "query" else [])) + f": {self.reason}"
        head = ", ".join(who + [f"{self.where} line {self.line}, column {self.column}"])
        head = f"{head}: {self.reason}"
        lines = self.text.splitlines() or [""]
        if self.line > len(lines):
            return head
        source = lines[self.line - 1]
        return f"{head}\n  {source}\n  {' ' * (self.column - 1)}^"

    def with_rule(self, rule_id: str, where: str | None = None) -> "RuleSyntaxError":
        """The same error, naming the rule (and field) it was found in."""
        return RuleSyntaxError(self.reason, rule_id=rule_id, line=self.line,
                               column=self.column, text=self.text,
                               where=where or self.where)


def position(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a character offset."""
    before = text[:offset]
    line = before.count("\n") + 1
    column = offset - (before.rfind("\n") + 1) + 1
    return line, column
