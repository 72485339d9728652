"""Who is who in the command tests, and their clock (fixtures live in conftest.py; factories in tests/factories.py)."""
from __future__ import annotations

from datetime import datetime, timezone

ADMIN, OPERATOR, SUBSCRIBER, STRANGER = 1, 2, 3, 4
GROUP = -1009999
NOW = datetime(2024, 5, 10, 12, 0, tzinfo=timezone.utc)
