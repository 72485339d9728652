"""The data folder and what in it is private: the folder 0700, the database and its -wal/-shm 0600.

The folder holds the database (with every subscriber and invite), the Telegram
sessions (the account's login) and charts: nobody but the owner may read it.
`secure_data_dir` fixes a folder made before this rule, with one log line;
`secure_db_files` does the same for the database files; `create_private_file`
makes a new database file 0600 before SQLite opens it, so its WAL and SHM
files (SQLite gives them the database's mode) are private from the start.
"""
from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)
FOLDER_MODE = 0o700
FILE_MODE = 0o600
DB_SUFFIXES = ("", "-wal", "-shm", "-journal")


def make_private_dir(path: Path | str) -> Path:
    """Create the folder (and parents) if missing, 0700. An existing one is left as it is
    (it may be a shared folder such as /tmp holding DOZOR_DB): `secure_data_dir` tightens the data folder."""
    folder = Path(path)
    if not folder.exists():
        folder.mkdir(parents=True, mode=FOLDER_MODE)
        os.chmod(folder, FOLDER_MODE)  # mkdir's mode is masked by the umask
    return folder


def secure_data_dir(path: Path | str) -> bool:
    """Make an existing data folder 0700; True (and one log line) if it was open to others."""
    folder = Path(path)
    if not folder.is_dir():
        return False
    mode = stat.S_IMODE(folder.stat().st_mode)
    if mode & 0o077 == 0:
        return False
    os.chmod(folder, FOLDER_MODE)
    log.warning("data folder %s was readable by others (mode %o); it is now %o", folder, mode, FOLDER_MODE)
    return True


def create_private_file(path: Path | str) -> None:
    """Create an empty file 0600 unless it exists (a new database, before SQLite opens it)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, FILE_MODE)
    except FileExistsError:
        return
    os.close(fd)


def secure_db_files(db_path: Path | str) -> list[str]:
    """Make the database and its -wal/-shm files 0600; log once naming those that were not."""
    fixed = []
    for suffix in DB_SUFFIXES:
        target = Path(f"{db_path}{suffix}")
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            continue
        if mode & 0o077:
            os.chmod(target, FILE_MODE)
            fixed.append(f"{target.name} ({mode:o})")
    if fixed:
        log.warning("database files were readable by others, now %o: %s", FILE_MODE, ", ".join(fixed))
    return fixed
