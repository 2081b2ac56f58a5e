"""The SQLite database holds secrets (endpoint signing keys, stored answers): its file and its
WAL and shared-memory files are created readable by their owner only, whatever the umask."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from tests.support.server import ServerProcess


def test_the_sqlite_files_are_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "hookhub.db"
    previous = os.umask(0)  # the most permissive umask: nothing may depend on it
    try:
        server = ServerProcess(f"sqlite:///{path}", tmp_path).start()  # `token create`, then `serve`
    finally:
        os.umask(previous)
    try:
        with server.client() as api:
            assert api.post("/api/v1/app", json={"name": "private"}).status_code == 201
        files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
        modes = {file.name: stat.filemode(file.stat().st_mode) for file in files}
        assert modes == {file.name: "-rw-------" for file in files}
    finally:
        server.stop()
