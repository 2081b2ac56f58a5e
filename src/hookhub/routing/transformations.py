"""JavaScript transformations in Svix's form, run in V8 isolates (``mini-racer``).

An endpoint's code defines ``function handler(webhook) { … return webhook; }``; ``webhook`` is
``{eventType, payload, url, method, headers, cancel}``. The handler may change the payload, the
headers, the method (POST, PUT or PATCH) and the URL, or set ``cancel`` to true.

Each run has a time limit (``timeout_ms``, 50 by default) and each isolate a hard memory limit.
Isolates are not shared between endpoints: every (endpoint, code) pair has its own, created on
first use by the thread that runs it and kept (a fresh isolate costs tens of milliseconds), so
one tenant's data can never reach another's code; an isolate whose run timed out, ran out of
memory or failed is thrown away. V8 has no network and no file system here: the isolate has only
the JavaScript language.

Runs happen on a small pool of threads (``run`` is awaited from the event loop), so a slow script
holds one of these threads for at most its time limit and never the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson
from py_mini_racer import MiniRacer
from py_mini_racer._exc import JSOOMException, JSTimeoutException, MiniRacerBaseException

from hookhub.http.fields import field_problem

DEFAULT_TIMEOUT_MS = 50
MEMORY_LIMIT_BYTES = 32 * 1024 * 1024
MAX_CODE_CHARS = 64 * 1024
METHODS = ("POST", "PUT", "PATCH")
THREADS = 2
ISOLATES_PER_THREAD = 32
# Headers hookhub sets itself: a transformation cannot change them (as endpoint headers cannot).
_RESERVED_HEADERS = {"host", "content-length", "content-type", "transfer-encoding", "connection"}
_RESERVED_PREFIXES = ("webhook-", "svix-")

# Run in the isolate once its code is loaded: hands the handler a fresh copy of the input and
# checks that it gives back an object.
_RUNNER = """
function __hookhub_run(input) {
  if (typeof handler !== "function") {
    throw new Error("the code defines no function handler(webhook)");
  }
  const out = handler(input);
  if (out === null || typeof out !== "object" || Array.isArray(out)) {
    throw new Error("handler(webhook) must return the webhook object");
  }
  return JSON.stringify(out);
}
"""


class TransformationError(Exception):
    """The transformation failed; the message is the JavaScript error or the broken rule."""


@dataclass(slots=True)
class Webhook:
    """What a handler sees and gives back."""

    event_type: str
    payload: Any
    url: str
    method: str
    headers: dict[str, str]
    cancel: bool = False

    def as_js(self) -> dict[str, Any]:
        return {
            "eventType": self.event_type,
            "payload": self.payload,
            "url": self.url,
            "method": self.method,
            "headers": self.headers,
            "cancel": self.cancel,
        }


def check_code(code: str) -> str:
    """Code fit to store (a ValueError otherwise): bounded, and it must name a handler."""
    if len(code) > MAX_CODE_CHARS:
        raise ValueError(f"a transformation is at most {MAX_CODE_CHARS} characters")
    if "handler" not in code:
        raise ValueError("a transformation defines function handler(webhook) { … return webhook; }")
    return code


class _Isolates(threading.local):
    """This thread's isolates, least recently used first."""

    def __init__(self) -> None:
        self.by_key: OrderedDict[tuple[str, str], MiniRacer] = OrderedDict()


class Transformer:
    """Runs transformations on its own threads; one per process (``shared``)."""

    def __init__(self, threads: int = THREADS, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> None:
        self.timeout_ms = timeout_ms
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="hookhub-js")
        self._isolates = _Isolates()
        self._kept: set[MiniRacer] = set()  # every thread's isolates, to close them at the end
        self._kept_lock = threading.Lock()

    async def run(self, owner: str, code: str, webhook: Webhook) -> Webhook:
        """``webhook`` as ``code`` leaves it; TransformationError if the code fails or is slow."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, self._run, owner, code, webhook)

    async def check(self, code: str) -> None:
        """TransformationError unless ``code`` loads within the time limit and defines a handler."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._check, code)

    def _check(self, code: str) -> None:
        seconds = self.timeout_ms / 1000
        try:
            with MiniRacer() as isolate:
                isolate.set_hard_memory_limit(MEMORY_LIMIT_BYTES)
                isolate.eval(code, timeout_sec=seconds)
                defined = isolate.eval("typeof handler", timeout_sec=seconds)
        except JSTimeoutException:
            raise TransformationError(f"loading the code took longer than {self.timeout_ms} ms") from None
        except MiniRacerBaseException as exc:
            raise TransformationError(_js_message(exc)) from None
        if defined != "function":
            raise TransformationError("the code defines no function handler(webhook)")

    def close(self) -> None:
        """Stop the threads (a run under way ends within its time limit) and free the isolates."""
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._kept_lock:
            kept, self._kept = self._kept, set()
        for isolate in kept:
            _discard(isolate)

    # ---- on a pool thread ----------------------------------------------------------------

    def _run(self, owner: str, code: str, webhook: Webhook) -> Webhook:
        key = (owner, hashlib.sha256(code.encode()).hexdigest())
        isolates = self._isolates.by_key
        seconds = self.timeout_ms / 1000
        isolate = isolates.pop(key, None)
        try:
            if isolate is None:
                isolate = MiniRacer()
                isolate.set_hard_memory_limit(MEMORY_LIMIT_BYTES)
                isolate.eval(code, timeout_sec=seconds)
                isolate.eval(_RUNNER)
            text = isolate.call("__hookhub_run", webhook.as_js(), timeout_sec=seconds)
        except JSTimeoutException:
            self._drop(isolate, settle=True)
            raise TransformationError(f"the transformation ran longer than {self.timeout_ms} ms") from None
        except JSOOMException:
            self._drop(isolate)
            raise TransformationError(
                f"the transformation used more than {MEMORY_LIMIT_BYTES // (1024 * 1024)} MiB"
            ) from None
        except MiniRacerBaseException as exc:
            self._drop(isolate)
            raise TransformationError(_js_message(exc)) from None
        except ValueError:  # the script replaced JSON.stringify: what came back is not JSON
            self._drop(isolate)
            raise TransformationError("handler(webhook) must return the webhook object") from None
        isolates[key] = isolate
        with self._kept_lock:
            self._kept.add(isolate)
        while len(isolates) > ISOLATES_PER_THREAD:
            self._drop(isolates.popitem(last=False)[1])
        try:
            out = orjson.loads(text) if isinstance(text, str) else None
        except orjson.JSONDecodeError:
            out = None
        if not isinstance(out, dict):
            raise TransformationError("handler(webhook) must return the webhook object")
        return _read(out, webhook)

    def _drop(self, isolate: MiniRacer | None, *, settle: bool = False) -> None:
        """Forget and close ``isolate``. ``settle``: its run was cut off, and V8 reports the end
        of it later; one more (trivial) run waits for that report, which would otherwise reach
        an isolate already closed."""
        with self._kept_lock:
            self._kept.discard(isolate)  # type: ignore[arg-type]
        if settle and isolate is not None:
            with contextlib.suppress(MiniRacerBaseException):
                isolate.eval("0", timeout_sec=1.0)
        _discard(isolate)


def _discard(isolate: MiniRacer | None) -> None:
    if isolate is not None:
        isolate.close()


def _js_message(exc: BaseException) -> str:
    """V8's first line (``<anonymous>:3: TypeError: …``): the error and the line of the code."""
    text = str(exc).strip()
    return text.splitlines()[0][:1000] if text else type(exc).__name__


def _read(out: dict[str, Any], given: Webhook) -> Webhook:
    """The handler's webhook, checked: what it may not change is refused with a reason."""
    method = out.get("method", given.method)
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise TransformationError(f"webhook.method must be one of {', '.join(METHODS)}")
    url = out.get("url", given.url)
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise TransformationError("webhook.url must be an http(s) URL")
    headers = out.get("headers", given.headers)
    if headers is None:
        headers = {}
    if not isinstance(headers, dict):
        raise TransformationError("webhook.headers must be an object of strings")
    for name, value in headers.items():
        if not isinstance(value, str):
            raise TransformationError(f"header {name!r} must be a string")
        problem = field_problem(name, value)
        if problem:
            raise TransformationError(problem)
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS or lowered.startswith(_RESERVED_PREFIXES):
            raise TransformationError(f"header {name!r} is set by hookhub and cannot be changed")
    return Webhook(
        event_type=given.event_type,
        payload=out.get("payload"),
        url=url,
        method=method.upper(),
        headers=headers,
        cancel=bool(out.get("cancel", False)),
    )


def input_of(event_type: str, body: bytes, content_type: str, job: Any) -> Webhook:
    """The webhook a handler gets for a delivery (``job``: its url, method and custom headers).

    ``payload`` is the body parsed when it is JSON, else its text (None when it is not text).
    """
    return Webhook(event_type, _payload_of(body, content_type), job.url, job.method, dict(job.custom_headers))


def body_of(payload: Any, body: bytes, content_type: str) -> tuple[bytes, str]:
    """The body to send and its Content-Type: the original bytes when the handler left the payload
    as it was; text for a text body given back as a string; otherwise the payload as JSON."""
    if payload == _payload_of(body, content_type):
        return body, content_type
    if isinstance(payload, str) and not _is_json(content_type):
        return payload.encode(), content_type
    return orjson.dumps(payload), "application/json"


def _is_json(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower().endswith("json")


def _payload_of(body: bytes, content_type: str) -> Any:
    if _is_json(content_type):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        return None


_shared: Transformer | None = None
_shared_lock = threading.Lock()


def shared(threads: int = THREADS, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Transformer:
    """The process's transformer (created on first use, with the settings of that use)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Transformer(threads, timeout_ms)
        return _shared
