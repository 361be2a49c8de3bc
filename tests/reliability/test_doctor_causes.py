"""`salesctl doctor` names the real cause when the database cannot be used: a wrong password,
a missing database, a read-only server or a user without rights, not "start the database
server" for all of them. A private PostgreSQL server with password authentication."""

from __future__ import annotations

import asyncio
import json

import pytest
from reliability_kit import PrivatePostgres, execute, pg_execute, salesctl

from salesctl import doctor
from salesctl.config import Settings

pytestmark = pytest.mark.slow
PASSWORD = "s3cret-pw"
with_password = pytest.mark.parametrize("private_postgres", [PASSWORD], indirect=True)


def check(url: str) -> doctor.Check:
    return asyncio.run(doctor.check_database(Settings(database_url=url)))


@with_password
def test_doctor_names_the_cause_of_each_database_failure(
    private_postgres: PrivatePostgres,
) -> None:
    good = private_postgres.url
    assert check(good).ok

    wrong = check(good.replace(PASSWORD, "not-the-password"))
    assert "authentication failed" in wrong.detail
    assert "start the database server" not in (wrong.fix or "")
    assert "password" in (wrong.fix or "")
    assert "not-the-password" not in wrong.detail

    missing = check(good.rsplit("/", 1)[0] + "/nosuchdb")
    assert "does not exist" in missing.detail
    assert "createdb" in (missing.fix or "")

    pg_execute(good, "ALTER DATABASE salesctl SET default_transaction_read_only = on")
    read_only = check(good)
    assert not read_only.ok
    assert read_only.detail.endswith(
        "read-only: transactions default to read only (default_transaction_read_only)"
    )
    pg_execute(good, "ALTER DATABASE salesctl SET default_transaction_read_only = off")

    pg_execute(good, "CREATE ROLE viewer LOGIN PASSWORD 'viewer-pw'")
    viewer = good.replace(f"postgres:{PASSWORD}", "viewer:viewer-pw")
    denied = check(viewer)
    assert "permission denied" in denied.detail
    assert "grant" in (denied.fix or "").lower()
    asyncio.run(execute(good, "GRANT SELECT ON ALL TABLES IN SCHEMA public TO viewer"))
    reads_only = check(viewer)  # reaches the schema, yet could not track a call
    assert reads_only.detail.endswith("this user may not write the salesctl tables")

    private_postgres.stop("fast")
    down = check(good)
    assert "connection refused" in down.detail
    assert "start the database server" in (down.fix or "")
    private_postgres.start()


@with_password
def test_the_doctor_command_says_it_in_one_check(
    private_postgres: PrivatePostgres, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", private_postgres.url.replace(PASSWORD, "nope"))
    result = salesctl("doctor", "--json")
    assert result.exit_code == 1
    [database] = [c for c in json.loads(result.stdout)["checks"] if c["name"] == "database"]
    assert "authentication failed" in database["detail"]
