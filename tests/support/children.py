"""Child processes that cannot outlive the harness.

Every process the fault suite starts (PostgreSQL, Redis, hookhub) is a direct child that the
kernel kills with SIGKILL if the harness dies (``PR_SET_PDEATHSIG``), so not even a harness
killed by a timeout leaves one behind. The signal is tied to the *thread* that forked, so spawn
only from the main thread (the event loop's thread under pytest-asyncio), never from a pool.
"""

from __future__ import annotations

import asyncio
import ctypes
import os
import pwd
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_libc = ctypes.CDLL(None, use_errno=True)


def _die_with_parent() -> None:
    _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def unprivileged_user() -> dict[str, int]:
    """``Popen`` arguments that drop root (PostgreSQL refuses to run as root): ``nobody`` and its
    own group (``nogroup`` on Debian, ``nobody`` elsewhere); none when not root."""
    if os.geteuid() != 0:
        return {}
    nobody = pwd.getpwnam("nobody")
    return {"user": nobody.pw_uid, "group": nobody.pw_gid}


def spawn(
    command: Sequence[str],
    log_path: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    as_unprivileged: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``command`` with stdout and stderr appended to ``log_path``."""
    assert threading.current_thread() is threading.main_thread(), "spawn from the main thread only"
    extra = unprivileged_user() if as_unprivileged else {}
    with log_path.open("ab") as log:
        return subprocess.Popen(
            list(command),
            env=dict(env) if env is not None else None,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent,
            **extra,  # type: ignore[arg-type]
        )


def end(process: subprocess.Popen[bytes] | None, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
    """Signal ``process`` and wait for it (bounded), SIGKILL if it does not exit in time."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


async def wait_exit(process: subprocess.Popen[bytes], timeout: float) -> int | None:
    """The exit code once ``process`` ends within ``timeout`` seconds, else None; polls, so the
    event loop (receivers, load) keeps running meanwhile."""
    deadline = time.monotonic() + timeout
    while process.poll() is None and time.monotonic() < deadline:
        await asyncio.sleep(0.02)
    return process.poll()
