"""DOZOR_DB: a SQLite path, or a PostgreSQL URL kept as text and never shown with its password."""
from pathlib import Path

from bot.settings import load_settings


def test_a_postgresql_url_is_kept_whole_and_shown_without_its_password():
    settings = load_settings(env={"DOZOR_DB": "postgresql://dozor:s3cret@db.example:5432/dozor"},
                             env_file=None, config_file=None)
    assert settings.db_path == "postgresql://dozor:s3cret@db.example:5432/dozor"
    assert settings.db_label == "postgresql://dozor:***@db.example:5432/dozor"
    assert "s3cret" not in repr(settings)


def test_anything_else_is_a_sqlite_path():
    settings = load_settings(env={"DOZOR_DB": "~/x/dozor.db"}, env_file=None, config_file=None)
    assert isinstance(settings.db_path, Path) and settings.db_path.name == "dozor.db"
