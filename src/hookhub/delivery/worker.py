"""The delivery worker: claim → prepare → send → record → decide retry.

One loop claims batches of due rows while there is room under the concurrency bound; each
claimed row is sent by its own task; finished results are collected and written by one recorder
in batched transactions (whatever piled up while the previous batch was being written).

A claimed row stays leased to this worker until its result is recorded: a third task renews
the leases while sends are in flight or results wait to be written, so no other worker takes a
delivery that is still under way, however long the send or a database outage lasts. Results
that cannot be written (the database is down) are kept and written once it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from datetime import datetime, timedelta
from typing import Any

from hookhub import ids
from hookhub.config import Settings
from hookhub.delivery import flow, queue, republish, throttle
from hookhub.delivery.jobs import Job, Result
from hookhub.delivery.operational import OperationalWebhooks
from hookhub.delivery.retry import next_delay
from hookhub.delivery.sender import Response, Sender
from hookhub.delivery.signing import signed_headers
from hookhub.delivery.wakeup import Wakeup
from hookhub.metrics import Metrics
from hookhub.routing import transformations
from hookhub.store.db import Database
from hookhub.store.outage import log_failure
from hookhub.store.types import utcnow

log = logging.getLogger("hookhub.delivery")

CLAIM_BATCH = 256
# With no wake-up signal (SQLite across processes) the queue is polled this often.
POLL_SECONDS = 0.25
# With LISTEN/NOTIFY working the poll is only a safety net.
POLL_SECONDS_NOTIFIED = 2.0
# A message has "failing" status (operational webhook) after this many failed attempts.
FAILING_AFTER_ATTEMPTS = 3
AUTO_DISABLE_CHECK_SECONDS = 60.0
# How often leases of dead workers are looked for.
RECLAIM_SECONDS = 1.0
# Results that could not be recorded are tried again after this, doubling up to the longest.
RECORD_RETRY_SECONDS = 0.5
RECORD_RETRY_LONGEST_SECONDS = 2.0
CANCELLED_AT_SHUTDOWN = "Cancelled: the worker shut down before the receiver answered"
# A delivery that found no free connection to its host is tried again this much later.
REQUEUE_UNSENT_SECONDS = 1.0


class DeliveryWorker:
    def __init__(
        self, settings: Settings, db: Database, wakeup: Wakeup, metrics: Metrics | None = None
    ) -> None:
        self.settings = settings
        self.db = db
        self.wakeup = wakeup
        self.metrics = metrics or Metrics()
        self.worker_id = f"{socket.gethostname()[:40]}-{os.getpid()}-{ids.new_id('dlv')[-6:]}"
        self.concurrency = settings.delivery_concurrency  # sends in flight at most
        timeout = settings.request_timeout_seconds
        # A send waits at most ``timeout`` for a connection to its host, then at most ``timeout``
        # on it (sender.py).
        self.sender = Sender(timeout, settings.private_networks_allowed, slot_wait=timeout)
        # Renewed every quarter of it while this worker holds rows (however long a send waits
        # or takes); a dead worker's rows are taken by another one once it has run out.
        self.lease_seconds = settings.delivery_lease_seconds
        self.operational = OperationalWebhooks(
            settings.operational_webhook_url,
            settings.operational_webhook_secret,
            self.sender,
            db,
            settings.retry_delays,
            lease_seconds=self.lease_seconds,
        )
        self.transformer = transformations.shared(
            settings.transformation_threads, settings.transformation_timeout_ms
        )
        self.shutdown_grace = min(settings.shutdown_grace_seconds, settings.request_timeout_seconds)
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._has_room = asyncio.Event()
        self._results: list[Result] = []
        self._results_ready = asyncio.Event()
        # Results (and the operational webhooks they cause) whose transaction has not committed.
        self._unrecorded: list[Result] = []
        self._unrecorded_operational: list[dict[str, Any]] = []
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._recorder_task: asyncio.Task[None] | None = None
        self._lease_task: asyncio.Task[None] | None = None
        self._last_disable_check = 0.0
        self._last_reclaim = 0.0
        self._next_wake: float | None = None

    # ---- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop_task = asyncio.create_task(self._run(), name="hookhub-delivery-claim")
        self._recorder_task = asyncio.create_task(self._record_loop(), name="hookhub-delivery-record")
        self._lease_task = asyncio.create_task(self._renew_loop(), name="hookhub-delivery-lease")
        await self.operational.start()
        log.info("delivery worker %s started", self.worker_id)

    async def stop(self) -> None:
        """Stop claiming; let in-flight sends finish (bounded), release the rest, flush records."""
        self._stopping = True
        self.wakeup.event.set()
        self._has_room.set()
        if self._loop_task is not None:
            await asyncio.gather(self._loop_task, return_exceptions=True)
        pending = set(self._inflight.values())
        if pending:
            await asyncio.wait(pending, timeout=self.shutdown_grace)
        unfinished = list(self._inflight)
        for task in list(self._inflight.values()):
            task.cancel()
        await asyncio.gather(*self._inflight.values(), return_exceptions=True)
        self._results_ready.set()
        if self._recorder_task is not None:
            await asyncio.gather(self._recorder_task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self._flush()
        if self._lease_task is not None:
            self._lease_task.cancel()
            await asyncio.gather(self._lease_task, return_exceptions=True)
        if self._unrecorded:
            log.warning(
                "%d delivery results could not be recorded before shutdown; their rows are sent "
                "again once their lease runs out",
                len(self._unrecorded),
            )
        with contextlib.suppress(Exception):
            await queue.release(self.db, self.worker_id, unfinished)
        await self.operational.stop(timeout=2.0)
        await self.sender.close()
        log.info("delivery worker %s stopped (%d released)", self.worker_id, len(unfinished))

    async def healthy(self) -> bool:
        return self._loop_task is not None and not self._loop_task.done()

    # ---- claim loop ------------------------------------------------------------------------

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._claim_round()
            except Exception:
                log_failure(log, "delivery claim failed; retrying shortly")
                await asyncio.sleep(1.0)

    async def _claim_round(self) -> None:
        while len(self._inflight) >= self.concurrency and not self._stopping:
            self._has_room.clear()
            await self._has_room.wait()
        if self._stopping:
            return
        self.wakeup.event.clear()
        # Not for a lease after a database outage: nobody could renew their leases meanwhile, and
        # rows still being sent (or whose results wait to be recorded) would be sent twice.
        calm = self.db.outage is None and time.monotonic() - self.db.reachable_again_at >= self.lease_seconds
        if calm and time.monotonic() - self._last_reclaim >= RECLAIM_SECONDS:
            self._last_reclaim = time.monotonic()
            if await queue.reclaim_expired(self.db):
                log.info("took back deliveries whose worker's lease had expired")
        room = min(self.concurrency - len(self._inflight), CLAIM_BATCH)
        claimed_at = utcnow()
        claimed, jobs, skipped = await queue.claim_and_prepare(
            self.db, self.worker_id, room, self.lease_seconds
        )
        if claimed:
            self._push(skipped)
            for job in jobs:
                task = asyncio.create_task(self._deliver(job))
                self._inflight[job.claimed.id] = task
                task.add_done_callback(lambda _t, key=job.claimed.id: self._done(key))
        await self._maybe_disable_long_failing()
        if not claimed and not self.wakeup.event.is_set():
            # Idle: also wake for rows scheduled by anyone (deliverAt, other workers' retries).
            due = await queue.next_due_at(self.db, claimed_at)
            if due is not None:
                self._wake_at(max((due - utcnow()).total_seconds(), 0.01), signal=False)
        if len(claimed) < room:
            await self._sleep()

    def _done(self, delivery_id: str) -> None:
        self._inflight.pop(delivery_id, None)
        self._has_room.set()

    async def _sleep(self) -> None:
        """Until woken, a local retry falls due, or the poll interval passes."""
        timeout = POLL_SECONDS_NOTIFIED if self.wakeup.cross_process else POLL_SECONDS
        if self._next_wake is not None:
            timeout = max(0.0, min(timeout, self._next_wake - time.monotonic()))
            self._next_wake = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.wakeup.event.wait(), timeout)

    def _wake_at(self, delay: float, *, signal: bool = True) -> None:
        at = time.monotonic() + delay
        if self._next_wake is None or at < self._next_wake:
            self._next_wake = at
        if not signal:
            return
        if delay <= 0:
            self.wakeup.event.set()
        else:
            asyncio.get_running_loop().call_later(delay, self.wakeup.event.set)

    # ---- send ------------------------------------------------------------------------------

    async def _deliver(self, job: Job) -> None:
        try:
            if job.throttle_rate:
                wait = await throttle.reserve(self.db, job.claimed.endpoint_id, job.throttle_rate)
                if wait is None:
                    later = await throttle.next_free_in(self.db, job.claimed.endpoint_id)
                    await queue.requeue(self.db, self.worker_id, job.claimed.id, later)
                    self._wake_at(later)
                    return
                if wait > 0:
                    await asyncio.sleep(wait)
            started = utcnow()
            if job.transformation and not republish.is_republish(job.url):
                stopped = await self._transform(job, started)
                if stopped is not None:  # failed or cancelled: nothing to send
                    self._push([stopped])
                    return
            if republish.is_republish(job.url):
                response = await republish.deliver(
                    self.db,
                    job,
                    first_delay=self.settings.retry_delays[0],
                    retention_days=self.settings.message_retention_days,
                )
                if response.ok:
                    self.wakeup.event.set()  # the new message's deliveries are due
            else:
                response = await self._send(job, started)
                await self._maybe_pause(job, response)
                if not response.sent:  # no connection came free: nothing was sent, no attempt
                    await queue.requeue(self.db, self.worker_id, job.claimed.id, REQUEUE_UNSENT_SECONDS)
                    self._wake_at(REQUEUE_UNSENT_SECONDS)
                    return
            self._push([self._decide(job, response, started)])
        except asyncio.CancelledError:
            raise
        except Exception:
            log_failure(log, "delivery %s failed unexpectedly; it will be retried", job.claimed.id)

    async def _transform(self, job: Job, started: datetime) -> Result | None:
        """Run the endpoint's transformation on ``job`` (changing what is sent, never what is
        stored); a failed attempt with the JavaScript error, a ``filtered`` delivery if the
        transformation cancels it, or None to send."""
        assert job.transformation is not None
        began = time.perf_counter()
        try:
            given = transformations.input_of(job.event_type or "", job.body, job.content_type, job)
            out = await self.transformer.run(job.claimed.endpoint_id, job.transformation, given)
        except transformations.TransformationError as exc:
            duration = int((time.perf_counter() - began) * 1000)
            return self._decide(job, Response(0, f"Transformation failed: {exc}", duration), started)
        if out.cancel:
            reason = "cancelled by the endpoint's transformation"
            return Result(
                job.claimed, job, 0, reason, 0, success=False, attempted=False, final_status="filtered"
            )
        job.url, job.method, job.custom_headers = out.url, out.method, out.headers
        job.body, job.content_type = transformations.body_of(out.payload, job.body, job.content_type)
        return None

    async def _maybe_pause(self, job: Job, response: Response) -> None:
        """A 429 or 503 with Retry-After pauses the whole endpoint, at once (not with the batched
        record), so that no worker claims its other rows meanwhile."""
        seconds = flow.pause_for(
            response.status, response.retry_after, self.settings.endpoint_pause_max_seconds
        )
        if seconds is None:
            return
        statements = flow.pause_statements(
            self.db.dialect, job.claimed.endpoint_id, flow.until(utcnow(), seconds)
        )
        try:
            async with self.db.write() as conn:
                for statement in statements:
                    await conn.execute(statement)
        except Exception:
            log_failure(log, "pausing endpoint %s failed", job.claimed.endpoint_id)
            return
        log.info(
            "endpoint %s paused for %.1f s (answered %d)", job.claimed.endpoint_id, seconds, response.status
        )
        self._wake_at(seconds)

    async def _send(self, job: Job, started: datetime) -> Response:
        """The HTTP attempt; one cancelled at shutdown is recorded as a failed attempt, due
        again at once (the receiver may have got it: say so in its history)."""
        began = time.perf_counter()
        try:
            return await self.sender.post(job.url, self._headers(job), job.body, method=job.method)
        except asyncio.CancelledError:
            if self._stopping:
                duration = int((time.perf_counter() - began) * 1000)
                result = self._decide(job, Response(0, CANCELLED_AT_SHUTDOWN, duration), started)
                result.retry_in = 0.0
                result.disable_endpoint = False
                self._push([result])
            raise

    def _headers(self, job: Job) -> dict[str, str]:
        return {
            **job.custom_headers,
            "content-type": job.content_type,
            **signed_headers(
                job.keys,
                job.subject_id,
                int(time.time()),
                job.body,
                svix_names=self.settings.send_svix_headers,
            ),
        }

    def _decide(self, job: Job, response: Response, at: datetime) -> Result:
        """Success, retry later, give up, or disable the endpoint."""
        result = Result(
            job.claimed,
            job,
            response.status,
            response.body,
            response.duration_ms,
            success=response.ok,
            created_at=at,
            attempt_id=ids.new_id("atmpt"),
        )
        if response.ok:
            return result
        failing_for = (at - job.failing_since).total_seconds() if job.failing_since else 0.0
        if response.status == 410 or failing_for >= self.settings.disable_endpoint_after_seconds:
            # 410 Gone, or failing continuously for too long: disable the endpoint, stop retrying.
            result.disable_endpoint = True
            return result
        attempts_made = job.claimed.attempt_count + 1
        result.retry_in = next_delay(
            attempts_made, self.settings.retry_delays, retry_after=response.retry_after
        )
        return result

    # ---- record ----------------------------------------------------------------------------

    def _push(self, results: list[Result]) -> None:
        if results:
            self._results.extend(results)
            self._results_ready.set()

    async def _record_loop(self) -> None:
        delay = RECORD_RETRY_SECONDS
        while not (self._stopping and not self._inflight and not self._results):
            await self._results_ready.wait()
            self._results_ready.clear()
            try:
                await self._flush()
            except Exception:
                log_failure(log, "recording %d delivery results failed; trying again", len(self._unrecorded))
                if self._stopping and not self._inflight:
                    return  # ``stop`` makes the last try
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECORD_RETRY_LONGEST_SECONDS)
                self._results_ready.set()
            else:
                delay = RECORD_RETRY_SECONDS

    async def _flush(self) -> None:
        """Record what finished, with what could not be recorded before."""
        batch, self._results = self._results, []
        for result in batch:
            self._announce(result)
        self._unrecorded += batch
        self._unrecorded_operational += self.operational.take_pending()
        if not self._unrecorded:
            return
        results, announced = self._unrecorded, self._unrecorded_operational
        await queue.record(self.db, self.worker_id, results, utcnow(), announced)
        self._unrecorded, self._unrecorded_operational = [], []
        if announced:
            self.operational.wake()
        if any(result.job is not None and result.job.max_in_flight for result in results):
            self.wakeup.event.set()  # a limited endpoint has room again: claim its next rows now
        for result in results:
            if result.retry_in is not None:
                self._wake_at(result.retry_in)
            self.metrics.delivery_done(
                _outcome(result), result.duration_ms / 1000 if result.attempted else None
            )

    async def _renew_loop(self) -> None:
        """Keep this worker's leases alive while it holds rows (in flight or unrecorded)."""
        while True:
            await asyncio.sleep(self.lease_seconds / 4)
            if not (self._inflight or self._unrecorded or self._results):
                continue
            try:
                await queue.renew_leases(self.db, self.worker_id, self.lease_seconds)
            except Exception:
                log_failure(log, "renewing delivery leases failed; trying again")

    def _announce(self, result: Result) -> None:
        """Operational webhooks for what a result changes (written with it by ``_flush``)."""
        job = result.job
        if job is None or not result.attempted or not self.operational.enabled:
            return  # nothing was attempted (cancelled by a transformation): nothing to announce
        attempt_id = result.attempt_id or ""
        attempts_made = result.claimed.attempt_count + 1
        at = result.created_at or utcnow()
        if result.disable_endpoint:
            self.operational.endpoint_disabled(_EndpointView(job), trigger="automatic")
        if result.success:
            if attempts_made > FAILING_AFTER_ATTEMPTS:
                self.operational.attempt_event(
                    "message.attempt.recovered", job, attempt_id, result.status_code, at
                )
            return
        if attempts_made == FAILING_AFTER_ATTEMPTS:
            self.operational.attempt_event("message.attempt.failing", job, attempt_id, result.status_code, at)
        if result.retry_in is None:
            self.operational.attempt_event(
                "message.attempt.exhausted", job, attempt_id, result.status_code, at
            )

    async def _maybe_disable_long_failing(self) -> None:
        now = time.monotonic()
        if now - self._last_disable_check < AUTO_DISABLE_CHECK_SECONDS:
            return
        self._last_disable_check = now
        cutoff = utcnow() - timedelta(seconds=self.settings.disable_endpoint_after_seconds)
        for ep in await queue.disable_long_failing(self.db, cutoff):
            log.warning("endpoint %s disabled: failing since %s", ep.id, ep.failing_since)
            self.operational.endpoint_disabled(ep)
        await self.operational.store_pending()


def _outcome(result: Result) -> str:
    if not result.attempted:
        return "cancelled"
    if result.success:
        return "success"
    if result.disable_endpoint:
        return "disabled"
    return "failed" if result.retry_in is None else "retry"


class _EndpointView:
    """The endpoint fields operational webhooks need, from a job."""

    def __init__(self, job: Job) -> None:
        self.id = job.claimed.endpoint_id
        self.uid = job.endpoint_uid
        self.app_id = job.app_id
        self.source_id = job.source_id
        self.failing_since = job.failing_since
