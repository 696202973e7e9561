"""Decoding recordings to mono float32 at a target rate, in bounded memory.

mp3 goes through tensorflow-io (no system library needed); other formats, and mp3s that
tensorflow-io rejects, through ffmpeg. Audio is decoded and resampled chunk by chunk, so the
only full-length array is the mono result at the target rate.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Iterator

import numpy as np
from apache_beam.io.filesystems import FileSystems
from pydub.utils import mediainfo_json

CHUNK_SECONDS = 30.0
# tensorflow-io's mp3 decoder returns wrong audio when threads of one process decode at once.
_TFIO_LOCK = threading.Lock()
_HEAD_BYTES = 16


class AudioError(Exception):
    """A recording that cannot be used; `reason` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class MissingToolError(RuntimeError):
    """ffmpeg or ffprobe is not installed where it is needed."""


@dataclasses.dataclass
class Audio:
    """A decoded recording: mono float32 samples at `sample_rate`."""

    samples: np.ndarray
    sample_rate: int
    source_rate: int
    channels: int
    decoder: str  # "tensorflow-io", "ffmpeg", or "ffmpeg-salvage" (an mp3 tensorflow-io rejected)

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.sample_rate


def sniff_format(head: bytes) -> str | None:
    """The container of a file from its first bytes, whatever its name says."""
    if head[:4] in (b"RIFF", b"RF64") and head[8:12] == b"WAVE":
        return "wav"
    if head[:4] == b"fLaC":
        return "flac"
    if head[:4] == b"OggS":
        return "ogg"
    if head[4:8] == b"ftyp":
        return "m4a"
    if head[:3] == b"ID3":
        return "mp3"
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "mp3" if head[1] & 0x06 else "aac"
    return None


def check_ffmpeg() -> None:
    """Raises MissingToolError in one line unless ffmpeg and ffprobe are on the PATH."""
    missing = [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]
    if missing:
        raise MissingToolError(
            f"{' and '.join(missing)} not found on the PATH: install ffmpeg (Debian: apt-get install "
            "ffmpeg), or on Dataflow use the worker image of the Dockerfile"
        )


@contextlib.contextmanager
def local_copy(path: str) -> Iterator[str]:
    """A local file path for `path`, copying it from a remote filesystem (gs://...) if needed."""
    if os.path.exists(path):
        yield path
        return
    suffix = os.path.splitext(path)[1]
    with (
        tempfile.NamedTemporaryFile(suffix=suffix) as local,
        FileSystems.open(
            path, mime_type="application/octet-stream", compression_type="uncompressed"
        ) as remote,
    ):
        shutil.copyfileobj(remote, local, length=1 << 20)
        local.flush()
        yield local.name


def load_audio(path: str, sample_rate: int, chunk_seconds: float = CHUNK_SECONDS) -> Audio:
    """Decodes `path` (local or any Beam filesystem) to mono float32 at `sample_rate`.

    Raises AudioError for empty, unrecognised or undecodable files.
    """
    with local_copy(path) as local:
        with open(local, "rb") as f:
            head = f.read(_HEAD_BYTES)
        if not head:
            raise AudioError("empty", "the file has no bytes")
        container = sniff_format(head)
        if container is None:
            raise AudioError("unrecognised_format", f"not an audio file (starts with {head[:8]!r})")
        if container == "mp3":
            try:
                return _decode_with_tfio(local, sample_rate, chunk_seconds)
            except Exception:  # noqa: BLE001 - any tensorflow-io failure: try ffmpeg before giving up
                audio = _decode_with_ffmpeg(local, sample_rate, chunk_seconds)
                audio.decoder = "ffmpeg-salvage"
                return audio
        return _decode_with_ffmpeg(local, sample_rate, chunk_seconds)


def _decode_with_tfio(path: str, sample_rate: int, chunk_seconds: float) -> Audio:
    import tensorflow_io as tfio

    with _TFIO_LOCK:  # held from opening to the last chunk: interleaved files get mixed up
        tensor = tfio.audio.AudioIOTensor(path)
        length, channels = (int(n) for n in tensor.shape)
        source_rate = int(tensor.rate)
        if length == 0 or channels == 0:
            raise ValueError("tensorflow-io found no audio frames")
        chunk = _chunk_length(source_rate, sample_rate, chunk_seconds)
        chunks = (
            _mono(tensor[start : min(length, start + chunk)].numpy())
            for start in range(0, length, chunk)
        )
        samples = resample_chunks(chunks, source_rate, sample_rate, length)
    return Audio(samples, sample_rate, source_rate, channels, "tensorflow-io")


def _probe(path: str) -> tuple[int, int, float]:
    """(sample rate, channels, duration in seconds) of the first audio stream, via pydub."""
    check_ffmpeg()
    info = mediainfo_json(path)
    streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
    if not streams or not int(streams[0].get("channels") or 0):
        raise AudioError("undecodable", "ffprobe finds no audio stream in it")
    stream = streams[0]
    duration = float(stream.get("duration") or info.get("format", {}).get("duration") or 0.0)
    return int(stream["sample_rate"]), int(stream["channels"]), duration


def _decode_with_ffmpeg(path: str, sample_rate: int, chunk_seconds: float) -> Audio:
    source_rate, channels, duration = _probe(path)
    command = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0",
               "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]  # fmt: skip
    chunk = _chunk_length(source_rate, sample_rate, chunk_seconds)
    with (
        tempfile.TemporaryFile() as errors,
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors) as process,
    ):
        chunks = _read_pcm(process.stdout, chunk, channels)
        samples = resample_chunks(chunks, source_rate, sample_rate, round(duration * source_rate))
        process.wait()
        errors.seek(0)
        stderr = errors.read().decode(errors="replace")
    if len(samples) == 0:
        raise AudioError("undecodable", _last_line(stderr) or "ffmpeg decoded no audio")
    return Audio(samples, sample_rate, source_rate, channels, "ffmpeg")


def _read_pcm(stream, frames: int, channels: int) -> Iterator[np.ndarray]:
    """Mono float32 chunks of interleaved float32 PCM read from a pipe."""
    frame_bytes = 4 * channels
    while data := stream.read(frames * frame_bytes):
        usable = len(data) // frame_bytes * frame_bytes
        if usable:
            pcm = np.frombuffer(data[:usable], dtype=np.float32).reshape(-1, channels)
            yield _mono(pcm)


def _mono(frames: np.ndarray) -> np.ndarray:
    """The float32 mean of the channels of (frames, channels) samples.

    Bit for bit frames.mean(axis=1, dtype=np.float32), which is slow on so short an axis:
    stereo is summed column by column from +0.0 as the mean's sum is (so -0.0 + -0.0 gives
    +0.0), then halved in float32.
    """
    if frames.shape[1] != 2:
        return frames.mean(axis=1, dtype=np.float32)
    total = frames[:, 0] + frames[:, 1]
    total += np.float32(0.0)
    total /= np.float32(2)
    return total


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _ratio(source_rate: int, target_rate: int) -> tuple[int, int]:
    divisor = math.gcd(source_rate, target_rate)
    return target_rate // divisor, source_rate // divisor


def _chunk_length(source_rate: int, target_rate: int, chunk_seconds: float) -> int:
    """Input samples per chunk: about `chunk_seconds`, a whole number of resampling periods."""
    _, down = _ratio(source_rate, target_rate)
    return max(1, round(chunk_seconds * source_rate / down)) * down


def resample_chunks(
    chunks: Iterator[np.ndarray], source_rate: int, target_rate: int, expected_length: int = 0
) -> np.ndarray:
    """Resamples a stream of mono chunks with scipy's polyphase anti-aliasing filter.

    Each chunk is filtered with enough context from its neighbours that the result equals
    resampling the whole signal at once; only the output array is ever full length.
    `expected_length` (input samples, may be approximate) lets it allocate the output once.
    """
    up, down = _ratio(source_rate, target_rate)
    # scipy.signal.resample_poly's filter reaches 10 * max(up, down) upsampled samples each way.
    context = math.ceil((10 * max(up, down) / up + 2) / down) * down
    output = _GrowingArray(math.ceil(expected_length * up / down))
    pending = np.zeros(0, dtype=np.float32)
    left = 0  # samples of left context at the start of `pending`
    for chunk in chunks:
        pending = np.concatenate([pending, chunk])
        ready = (len(pending) - left - context) // down * down
        if ready <= 0:
            continue
        resampled = _resample(pending[: left + ready + context], up, down)
        output.extend(resampled[left * up // down : (left + ready) * up // down])
        pending = pending[left + ready - context :]
        left = context
    if len(pending) > left:
        output.extend(_resample(pending, up, down)[left * up // down :])
    return output.result()


def _resample(samples: np.ndarray, up: int, down: int) -> np.ndarray:
    if up == down:
        return samples
    import scipy.signal  # here, not at the top: the Beam job's launcher never resamples (0.7 CPU-s)

    return scipy.signal.resample_poly(samples, up, down).astype(np.float32, copy=False)


class _GrowingArray:
    """A float32 buffer filled in order, allocated once when its final size is known."""

    def __init__(self, capacity: int) -> None:
        self._data = np.empty(max(capacity, 0), dtype=np.float32)
        self._size = 0

    def extend(self, values: np.ndarray) -> None:
        end = self._size + len(values)
        if end > len(self._data):
            grown = np.empty(max(end, int(len(self._data) * 1.25)), dtype=np.float32)
            grown[: self._size] = self._data[: self._size]
            self._data = grown
        self._data[self._size : end] = values
        self._size = end

    def result(self) -> np.ndarray:
        return self._data[: self._size]
