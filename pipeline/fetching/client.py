"""HTTP for pipeline.fetch: requests with retries and backoff (429, 5xx, dropped connections;
`Retry-After` honoured), a request rate for the API, and the key kept out of every message."""

from __future__ import annotations

import dataclasses
import email.utils
import http.client
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import TypeVar

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
TIMEOUT_S = 60.0
USER_AGENT = "birdsong-datasets (python -m pipeline.fetch)"
_KEY_PARAMETER = re.compile(r"([?&]key=)[^&#\s]*")
T = TypeVar("T")


class FetchError(RuntimeError):
    """A fetch that cannot go on: one line for the user, naming the URL and the reason."""


class Stopped(Exception):
    """Raised in a download thread once the fetch is being stopped (Ctrl-C)."""


class RequestFailed(Exception):
    """A request that failed; `reason` is fetch-failures.jsonl's (http_error, connection_error,
    size_mismatch), `status` and `body` the HTTP answer's when there was one."""

    def __init__(
        self, reason: str, detail: str, status: int | None = None, body: bytes = b""
    ) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.status, self.body = reason, detail, status, body


class Transient(RequestFailed):
    """A failure worth retrying: 429, 5xx, a dropped connection, a body cut short."""

    def __init__(self, reason: str, detail: str, status: int | None = None,
                 retry_after: float | None = None) -> None:  # fmt: skip
        super().__init__(reason, detail, status)
        self.retry_after = retry_after


def redact(url: str) -> str:
    """`url` with the value of its `key` parameter replaced by ***."""
    return _KEY_PARAMETER.sub(r"\1***", url)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), else None."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def _http_failure(error: urllib.error.HTTPError) -> RequestFailed:
    detail = f"HTTP {error.code} {error.reason}"
    if error.code in RETRY_STATUSES:
        wait = retry_after_seconds(error.headers.get("Retry-After"))
        return Transient("http_error", detail, error.code, wait)
    try:
        body = error.read()  # the API explains its 4xx answers in JSON
    except (OSError, http.client.HTTPException):
        body = b""
    return RequestFailed("http_error", detail, error.code, body)


def open_url(url: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """Opens a GET request (redirects followed); failures become RequestFailed or Transient."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        return urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        raise _http_failure(error) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as error:
        reason = getattr(error, "reason", None) or error
        raise Transient("connection_error", f"connection failed ({reason})") from None


def read_url(url: str) -> bytes:
    """The whole body of a GET request; failures as open_url's, a body cut short Transient."""
    with open_url(url) as response:
        try:
            return response.read()
        except (OSError, http.client.HTTPException) as error:
            raise Transient("connection_error", f"connection dropped ({error!r})") from None


@dataclasses.dataclass
class Retrying:
    """Runs an attempt up to `retries` + 1 times while it fails with Transient: waits
    Retry-After when the server gives it, else `first_wait` seconds doubling each time.
    Waits end early, with Stopped, once `stop` is set."""

    retries: int
    first_wait: float
    stop: threading.Event

    def __call__(self, attempt: Callable[[], T]) -> T:
        retried = 0
        while True:
            try:
                return attempt()
            except Transient as failure:
                if retried == self.retries:
                    if retried:
                        failure.detail += f" (after {retried + 1} attempts)"
                    raise
                wait = failure.retry_after
                if self.stop.wait(self.first_wait * 2**retried if wait is None else wait):
                    raise Stopped from None
                retried += 1


class RateLimit:
    """At most `per_second` calls of wait() a second, across threads."""

    def __init__(self, per_second: float) -> None:
        self._interval = 1.0 / per_second
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self._interval
        time.sleep(slot - now)
