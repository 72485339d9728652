"""A PostgreSQL server for the tests' PostgreSQL half, and fresh databases on it.

`server_dsn()` is DOZOR_TEST_PG when set (CI: .ci/setup-postgres.sh), else a throwaway server
this module starts with the machine's PostgreSQL 15 (initdb + pg_ctl in a temporary folder owned
by `postgres`, 127.0.0.1 only), else None. With CI=true and no server, `require_server()`
fails the test instead of skipping it. `Databases` hands each test its own database, copied
from a template migrated once per run.
"""
from __future__ import annotations

import atexit
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.servers import free_port

PG_BIN = Path("/usr/lib/postgresql/15/bin")
_started: dict[str, str | None] = {}


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def start_throwaway() -> str | None:
    """Start a private server (stopped at exit); None when PostgreSQL 15 is not installed."""
    if not (PG_BIN / "initdb").exists():
        return None
    folder = tempfile.mkdtemp(prefix="dozor-pg-test.")
    if os.geteuid() == 0:
        if subprocess.run(["id", "postgres"], capture_output=True).returncode:
            return None
        shutil.chown(folder, "postgres")
    os.chmod(folder, 0o700)
    port, data = free_port(), f"{folder}/data"
    run = lambda args: subprocess.run(_as_postgres(args), check=True, capture_output=True)  # noqa: E731
    run([str(PG_BIN / "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8"])
    run([str(PG_BIN / "pg_ctl"), "-D", data, "-l", f"{folder}/server.log", "-w", "-o",
         f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=off", "start"])

    def stop() -> None:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", data, "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)
    atexit.register(stop)
    return f"postgresql://postgres@127.0.0.1:{port}/postgres"


def server_dsn() -> str | None:
    if "dsn" not in _started:
        _started["dsn"] = os.environ.get("DOZOR_TEST_PG") or start_throwaway()
    return _started["dsn"]


def require_server() -> str:
    dsn = server_dsn()
    if dsn is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but no PostgreSQL: set DOZOR_TEST_PG (.ci/setup-postgres.sh) or install postgresql-15")
        pytest.skip("no PostgreSQL server: set DOZOR_TEST_PG or install postgresql-15")
    return dsn


def with_database(dsn: str, name: str) -> str:
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path="/" + name))


class Databases:
    """Fresh databases on one server: `new()` (empty) or `migrated()` (copy of the migrated template)."""
    _numbers = itertools.count()

    def __init__(self, dsn: str):
        import psycopg
        self.dsn = dsn
        self.psycopg = psycopg
        self.template: str | None = None
        self.made: list[str] = []

    def _admin(self, sql: str) -> None:
        with self.psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql)

    def new(self, template: str = "template0") -> str:
        name = f"dozor_t{os.getpid()}_{next(self._numbers)}"
        self._admin(f"CREATE DATABASE {name} TEMPLATE {template}")
        self.made.append(name)
        return with_database(self.dsn, name)

    async def migrated(self) -> str:
        if self.template is None:
            from bot.storage import Store
            url = self.new()
            store = await Store.open(url)
            await store.close()
            self.template = urlsplit(url).path.lstrip("/")
        return self.new(self.template)

    def drop(self, url: str) -> None:
        name = urlsplit(url).path.lstrip("/")
        self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if name in self.made:
            self.made.remove(name)

    def drop_all(self) -> None:
        for name in list(self.made):
            self._admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self.made.clear()
