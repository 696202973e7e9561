"""xeno-canto's API v3: paging through a query's results (each page kept as it came), and the
fields of a recording that the selections need."""

from __future__ import annotations

import dataclasses
import json
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from pipeline.columns import XC_EPITHET, XC_GENUS, XC_ID, XC_LICENSE, XC_QUALITY, XC_SPECIES
from pipeline.fetching.client import (
    FetchError,
    RateLimit,
    RequestFailed,
    Retrying,
    read_url,
    redact,
)

DEFAULT_API_URL = "https://xeno-canto.org/api/3/recordings"
ACCOUNT_URL = "https://xeno-canto.org/account"
MAX_PER_PAGE = 500
QUALITIES = "ABCDE"  # best first; "no score" and blanks rank after E
_LICENSE_URL = re.compile(r"creativecommons\.org/(?:licenses|publicdomain)/([a-z0-9-]+)/", re.I)
_PUBLIC_DOMAIN = {"zero": "cc0", "mark": "pdm"}


@dataclasses.dataclass(frozen=True, kw_only=True)
class Listed:
    """One recording as a page listed it (`record`, every field), with what the selections use."""

    record: dict[str, Any]
    recording_id: str
    species: str
    license: str  # the licence's short code: by-nc-sa, cc0, ... (else the field as given)
    quality: str  # A to E, or "" when not rated
    seconds: float | None  # None when the length is not given as m:ss
    download_url: str  # "" when xeno-canto withholds the audio (restricted species)


def license_code(field: str) -> str:
    """`by-nc-sa` of `//creativecommons.org/licenses/by-nc-sa/4.0/`; `cc0` of CC0's URL."""
    match = _LICENSE_URL.search(field or "")
    if not match:
        return (field or "").strip().lower()
    code = match[1].lower()
    return _PUBLIC_DOMAIN.get(code, code)


def length_seconds(length: str) -> float | None:
    """Seconds of xeno-canto's `m:ss` (or `h:mm:ss`, or plain seconds); None if unreadable."""
    parts = (length or "").strip().split(":")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        return None
    if not 1 <= len(values) <= 3 or any(v < 0 for v in values):
        return None
    seconds = 0.0
    for value in values:
        seconds = seconds * 60 + value
    return seconds


def listed(record: dict[str, Any], api_url: str) -> Listed:
    """The selections' view of one API record (`file`, the download URL, made absolute)."""
    species = str(record.get(XC_SPECIES) or "").strip()
    if not species:
        species = f"{record.get(XC_GENUS, '')} {record.get(XC_EPITHET, '')}".strip()
    quality = str(record.get(XC_QUALITY) or "").strip().upper()
    file_url = str(record.get("file") or "").strip()
    return Listed(
        record=record,
        recording_id=str(record.get(XC_ID, "")).strip(),
        species=species,
        license=license_code(str(record.get(XC_LICENSE) or "")),
        quality=quality if len(quality) == 1 and quality in QUALITIES else "",
        seconds=length_seconds(str(record.get("length") or "")),
        download_url=urllib.parse.urljoin(api_url, file_url) if file_url else "",
    )


def page_url(api_url: str, query: str, key: str, page: int, per_page: int) -> str:
    """The URL of one result page; the query goes as written."""
    parameters = {"query": query, "key": key, "page": page, "per_page": per_page}
    return f"{api_url}?{urllib.parse.urlencode(parameters, quote_via=urllib.parse.quote)}"


def _refusal(url: str, failure: RequestFailed) -> FetchError:
    if failure.status == 401:
        return FetchError(
            f"{redact(url)}: {failure.detail}: the API key is missing or invalid; get yours at "
            f"{ACCOUNT_URL} and pass it with --key or the XC_API_KEY environment variable"
        )
    try:
        message = json.loads(failure.body).get("message", "")
    except (ValueError, AttributeError):
        message = ""
    return FetchError(f"{redact(url)}: {failure.detail}" + (f": {message}" if message else ""))


def _parse_page(body: bytes, url: str) -> dict[str, Any]:
    try:
        page = json.loads(body)
    except ValueError as error:
        start = body[:40].decode("utf-8", "replace").replace("\n", " ")
        raise FetchError(
            f"{redact(url)}: the answer is not JSON ({error}; it starts {start!r})"
        ) from None
    if not isinstance(page, dict) or not isinstance(page.get("recordings"), list):
        raise FetchError(
            f"{redact(url)}: the answer is not a page of recordings (no 'recordings' list)"
        )
    try:
        page["numPages"] = max(1, int(page.get("numPages") or 1))
    except (TypeError, ValueError):
        raise FetchError(
            f"{redact(url)}: numPages is not a number ({page['numPages']!r})"
        ) from None
    return page


def fetch_pages(
    api_url: str,
    query: str,
    key: str,
    per_page: int,
    retrying: Retrying,
    rate: RateLimit,
    keep: Callable[[int, int, bytes], None],
) -> tuple[list[dict[str, Any]], int]:
    """(every recording of the query's result pages in the API's order, the number of pages);
    keep(page, pages, body) is given each page as it came."""
    records: list[dict[str, Any]] = []
    number, pages = 1, 1
    while number <= pages:
        url = page_url(api_url, query, key, number, per_page)

        def attempt(url: str = url) -> bytes:
            rate.wait()
            return read_url(url)

        try:
            body = retrying(attempt)
        except RequestFailed as failure:
            raise _refusal(url, failure) from None
        page = _parse_page(body, url)
        records += page["recordings"]
        pages = page["numPages"]
        keep(number, pages, body)
        number += 1
    return records, pages
