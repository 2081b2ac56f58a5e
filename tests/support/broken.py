"""A deliberately broken database: a trigger that makes chosen inserts fail with a database error
(not a constraint violation), so that a test can watch a real server meet an unexpected one."""

from __future__ import annotations

from tests.support.databases import run_sql


def fail_inserts(database_url: str, table: str, when: str = "TRUE") -> None:
    """From now on, inserting a row of ``table`` for which the SQL condition ``when`` holds (it
    may name the new row as ``NEW``) raises a database error."""
    name = f"hookhub_test_fail_{table}"
    if database_url.startswith("sqlite"):
        # json() of malformed text is a run-time error (SQLITE_ERROR), unlike RAISE(ABORT),
        # which is a constraint violation.
        run_sql(
            database_url,
            f"CREATE TRIGGER {name} BEFORE INSERT ON {table} WHEN {when} "
            "BEGIN SELECT json('deliberately broken'); END",
        )
        return
    run_sql(
        database_url,
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'deliberately broken'; END $$",
        f"CREATE TRIGGER {name} BEFORE INSERT ON {table} FOR EACH ROW WHEN ({when}) "
        f"EXECUTE FUNCTION {name}()",
    )
