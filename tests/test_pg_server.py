"""The PostgreSQL half of the suite: skipped without a server, failed (not skipped) on CI."""
import pytest

from tests import pg_server


def test_without_a_server_ci_fails_instead_of_skipping(monkeypatch):
    monkeypatch.setitem(pg_server._started, "dsn", None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but no PostgreSQL"):
        pg_server.require_server()


def test_without_a_server_elsewhere_the_half_is_skipped(monkeypatch):
    monkeypatch.setitem(pg_server._started, "dsn", None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL server"):
        pg_server.require_server()
