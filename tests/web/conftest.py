from __future__ import annotations

import pytest

from tests.web.console_helpers import on_store, seed


@pytest.fixture
def console_db(tmp_path):
    """tmp_path holding a seeded dozor.db (tests.web.console_helpers.seed); returns tmp_path and the seed."""
    seeded = on_store(tmp_path / "dozor.db", seed)
    return tmp_path, seeded
