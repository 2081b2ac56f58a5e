"""Found by schemathesis on PostgreSQL: JSON holding a NUL character (``\\u0000``), which JSONB and
text columns cannot store, was a 500. It is the caller's 422 there, with nothing written; SQLite
stores it."""

from __future__ import annotations

from tests.support.databases import BACKEND
from tests.support.server import ServerProcess


def test_nul_in_stored_json_is_a_422_on_postgresql_and_kept_on_sqlite(server: ServerProcess) -> None:
    with server.client() as api:
        source = api.post("/ingest/api/v1/source", json={"name": "nul", "config": {"key\u0000": 1}})
        app = api.post(
            "/api/v1/app", json={"name": "nul", "uid": "nul-metadata", "metadata": {"k": "v\u0000"}}
        )
        if BACKEND == "postgresql":
            for answer in (source, app):
                assert answer.status_code == 422, answer.text
                assert "NUL" in answer.json()["detail"][0]["msg"]
            assert api.get("/api/v1/app/nul-metadata").status_code == 404  # nothing half-written
        else:
            assert (source.status_code, app.status_code) == (201, 201), (source.text, app.text)
            assert api.get("/api/v1/app/nul-metadata").json()["metadata"] == {"k": "v\u0000"}
