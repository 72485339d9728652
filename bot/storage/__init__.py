"""Storage: `Store` (db.py; SQLite, or PostgreSQL through pg_store.py) plus topical query modules."""
from bot.storage.db import Store, from_iso, open_store, to_iso, utcnow_iso

__all__ = ["Store", "open_store", "to_iso", "from_iso", "utcnow_iso"]
