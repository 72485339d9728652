"""PostgreSQL URLs: telling one from a SQLite path, and showing one without its password."""
from __future__ import annotations

import re

SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(target: object) -> bool:
    return str(target).startswith(SCHEMES)


def masked(target: str) -> str:
    """The URL without its password (for logs, errors and `dozor status`); a path unchanged."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", target)
