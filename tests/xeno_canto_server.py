"""A local stand-in for xeno-canto's API v3 on 127.0.0.1 (the standard library's http.server):
result pages shaped like the real ones, audio files with Range requests, an optional bandwidth
per connection, and faults to inject. Used by tests/test_fetch.py and benchmarks/fetch.py."""

from __future__ import annotations

import contextlib
import csv
import json
import math
import pathlib
import re
import socket
import struct
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import soundfile

API_PATH = "/api/3/recordings"
LICENSE_URL = "//creativecommons.org/licenses/{}/4.0/"
# Faults, consumed one per request in the order given (STICKY ones on every request):
# 503, 429 (with Retry-After: 1), drop (half the body, then a reset connection), 404,
# not-json (a page as an HTML error page), short (the body 1,000 bytes short of its Content-Length).
STICKY = {"short"}
_AUDIO_PATH = re.compile(r"^/(\d+)/download$")
_CHUNK = 16_384


def _length(seconds: float) -> str:
    whole = max(1, round(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


def corpus_recordings(corpus: pathlib.Path) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """(API v3 records, {id: audio bytes}) of a corpus made by demo.corpus."""
    records, audio = [], {}
    with open(corpus / "metadata.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for number, row in enumerate(rows):
        path = corpus / "audio" / row["file-name"]
        audio[row["id"]] = path.read_bytes()
        records.append({
            "id": row["id"], "gen": row["gen"], "sp": row["sp"], "ssp": "", "grp": "birds",
            "en": row["en"], "rec": f"Recordist {number % 3}", "cnt": "Puerto Rico",
            "loc": "Bosque Estatal de Guánica", "lat": "17.976", "lon": "-66.874", "alt": "150",
            "type": row["type"], "sex": "", "stage": "", "method": "field recording",
            "url": f"//xeno-canto.org/{row['id']}", "file": f"/{row['id']}/download",
            "file-name": row["file-name"], "sono": {"small": f"//xeno-canto.org/{row['id']}-s.png"},
            "lic": row["lic"], "q": row["q"],
            "length": _length(soundfile.info(str(path)).duration), "time": "06:30",
            "date": "2024-03-29", "uploaded": "2024-04-01",
            "also": ["Coereba flaveola"] if number % 4 == 0 else [],
            "annotation-set": [{"start": "0.5", "end": "2.0", "label": row["en"]}]
            if number % 5 == 0 else [],
            "rmk": "", "animal-seen": "yes", "playback-used": "no", "smp": "44100",
        })  # fmt: skip
    return records, audio


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64  # socketserver's 5 drops connections of a pool of 8 (1 s SYN retry)

    def handle_error(self, request: object, client_address: object) -> None:
        """Connections the faults (or a stopped client) broke are expected: no traceback."""


class StandIn:
    """The server: `records` in pages, `audio` by id at /<id>/download (a record's `file` that
    starts with / is made absolute), `faults` {"page:N" or "audio:ID": [fault, ...]}, and a log
    of every request (`requests`: kind, page or id, Range header, time)."""

    def __init__(self, records: list[dict[str, Any]], audio: dict[str, bytes], key: str,
                 bytes_per_second: float | None = None) -> None:  # fmt: skip
        self.records, self.audio, self.key = records, audio, key
        self.bytes_per_second = bytes_per_second
        self.faults: dict[str, list[str]] = {}
        self.requests: list[tuple[str, str, str, float]] = []
        self.queries: list[str] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stand_in = self
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.api_url = self.url + API_PATH

    def __enter__(self) -> StandIn:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def requested(self, kind: str) -> list[str]:
        """The pages or ids requested so far, in order."""
        return [what for k, what, _, _ in self.requests if k == kind]

    def fault(self, name: str) -> str:
        with self._lock:
            queue = self.faults.get(name) or []
            if not queue:
                return ""
            return queue[0] if queue[0] in STICKY else queue.pop(0)

    def log(self, kind: str, what: str, byte_range: str) -> None:
        with self._lock:
            self.requests.append((kind, what, byte_range, time.monotonic()))

    def page(self, number: int, per_page: int) -> dict[str, Any]:
        pages = max(1, math.ceil(len(self.records) / per_page))
        chosen = self.records[(number - 1) * per_page : number * per_page]
        for_client = [{**r, "file": self.url + r["file"]} if r["file"].startswith("/") else r
                      for r in chosen]  # fmt: skip
        return {"numRecordings": str(len(self.records)),
                "numSpecies": str(len({r["en"] for r in self.records})),
                "page": number, "numPages": pages, "recordings": for_client}  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        stand_in: StandIn = self.server.stand_in
        address = urllib.parse.urlsplit(self.path)
        audio = _AUDIO_PATH.match(address.path)
        if address.path == API_PATH:
            self._page(stand_in, urllib.parse.parse_qs(address.query))
        elif audio and audio[1] in stand_in.audio:
            self._audio(stand_in, audio[1])
        else:
            self._send(404, b"not found", "text/plain")

    def _send(
        self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _common_fault(self, fault: str) -> bool:
        if fault == "503":
            self._send(503, b"busy", "text/plain")
        elif fault == "429":
            self._send(429, b"slow down", "text/plain", {"Retry-After": "1"})
        elif fault == "404":
            self._send(404, b"gone", "text/plain")
        return fault in ("503", "429", "404")

    def _page(self, stand_in: StandIn, params: dict[str, list[str]]) -> None:
        number = int(params.get("page", ["1"])[0])
        stand_in.log("page", str(number), "")
        stand_in.queries.append(params.get("query", [""])[0])
        if params.get("key", [""])[0] != stand_in.key:
            body = {"error": "unauthorized", "message": "Missing or invalid API key."}
            return self._send(401, json.dumps(body).encode(), "application/json")
        fault = stand_in.fault(f"page:{number}")
        if self._common_fault(fault):
            return None
        if fault == "not-json":
            return self._send(200, b"<html><body>Bad gateway</body></html>", "text/html")
        page = stand_in.page(number, int(params.get("per_page", ["100"])[0]))
        return self._send(200, json.dumps(page).encode(), "application/json")

    def _audio(self, stand_in: StandIn, recording_id: str) -> None:
        data = stand_in.audio[recording_id]
        byte_range = self.headers.get("Range", "")
        stand_in.log("audio", recording_id, byte_range)
        fault = stand_in.fault(f"audio:{recording_id}")
        if self._common_fault(fault):
            return
        start = int(m[1]) if (m := re.match(r"bytes=(\d+)-$", byte_range)) else 0
        if start >= len(data) > 0:
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{len(data)}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "audio/mpeg")
        self.send_header("Content-Length", str(len(data) - start))
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.end_headers()
        body = data[start:]
        if fault == "drop":
            self._write(body[: len(body) // 2])
            self._reset()
        elif fault == "short":
            self._write(body[:-1000])
            self.close_connection = True
        else:
            self._write(body)

    def _write(self, body: bytes) -> None:
        """Writes at the stand-in's bandwidth per connection, if it has one."""
        rate = self.server.stand_in.bytes_per_second
        began = time.monotonic()
        with contextlib.suppress(OSError):
            for offset in range(0, len(body), _CHUNK):
                self.wfile.write(body[offset : offset + _CHUNK])
                if rate:
                    ahead = (offset + _CHUNK) / rate - (time.monotonic() - began)
                    if ahead > 0:
                        time.sleep(ahead)

    def _reset(self) -> None:
        """Drops the connection as a failing network does: a TCP reset, not a clean close."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True
