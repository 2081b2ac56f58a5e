"""Graceful shutdown: sends that outlast the grace period are recorded as cancelled attempts and
put back in the queue, due now."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from hookhub.config import Settings
from hookhub.delivery.install import install
from hookhub.runtime import Runtime
from hookhub.store.tables import attempt, delivery
from tests.delivery.receiver import Reply
from tests.delivery.test_units import _seed


def test_stop_releases_what_it_cannot_finish(make_database, make_receiver):
    receiver = make_receiver(default=Reply(200, delay=3.0))
    url = make_database()
    _seed(url, 4, endpoint_url=receiver.url)  # one row is not due yet: three get sent

    async def run() -> None:
        settings = Settings(
            database_url=url, allow_private_networks="127.0.0.0/8", request_timeout_seconds=10
        )
        runtime = Runtime(settings)
        worker = install(runtime, run_worker=True)
        assert worker is not None
        worker.shutdown_grace = 0.2  # shorter than the receiver's 3 s answer
        await runtime.start()
        try:
            await asyncio.to_thread(receiver.wait_for, 3)
            async with runtime.db.read() as conn:
                sending = await conn.scalar(sa.select(sa.func.count()).where(delivery.c.status == "sending"))
            assert sending == 3
        finally:
            await runtime.stop()

        check = Runtime(settings)
        try:
            async with check.db.read() as conn:
                rows = (await conn.execute(sa.select(delivery.c.status, delivery.c.worker_id))).all()
                attempts = (
                    await conn.execute(sa.select(attempt.c.response_status_code, attempt.c.response))
                ).all()
        finally:
            await check.db.close()
        assert sorted(r.status for r in rows) == ["pending"] * 4
        assert all(r.worker_id is None for r in rows)
        # Cut off: each send is in the message's history (the receiver may have got it).
        assert len(attempts) == 3
        assert all(a.response_status_code == 0 and "shut down" in a.response for a in attempts)

    asyncio.run(run())
