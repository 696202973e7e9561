"""Decoding recordings to mono float32 at a target rate, streamed in bounded chunks.

`open_audio` sniffs the container from the file's first bytes and opens it with a decoder
(`DECODERS`; `auto`: soundfile, the fastest measured, for mp3/wav/flac/ogg and PyAV for m4a/aac).
A recording is read as a stream of mono chunks resampled with soxr, as often as the caller
needs (e.g. once for snippet energies, once for the chosen windows), so memory does not grow
with its length. A file the decoder rejects is retried from the start with ffmpeg (pydub's
ffprobe and the ffmpeg command), when it is installed: the salvage path for damaged files.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import IO, TypeVar

import numpy as np

# The file names a folder or glob of recordings gives (their contents are sniffed, not named).
AUDIO_EXTENSIONS = (
    ".mp3",
    ".wav",
    ".flac",
    ".ogg",
    ".oga",
    ".opus",
    ".m4a",
    ".aac",
    ".aif",
    ".aiff",
)

DECODERS = ("auto", "soundfile", "pyav", "tensorflow-io", "ffmpeg")
CHUNK_SECONDS = 30.0
SALVAGE = "ffmpeg-salvage"  # the decoder name of a recording that only ffmpeg could read
RESAMPLER_QUALITY = "HQ"  # soxr's high quality (librosa's default "soxr_hq")
# tensorflow-io's readers share state within a process: one file is read at a time.
_TFIO_LOCK = threading.Lock()
_HEAD_BYTES = 16
_T = TypeVar("_T")
Opener = Callable[
    [str], AbstractContextManager[IO[bytes]]
]  # a path to its bytes, on some filesystem


def open_local(path: str) -> IO[bytes]:
    """A local file's bytes: the default Opener."""
    return open(path, "rb")


class AudioError(Exception):
    """A recording that cannot be used; `reason` is a short machine-readable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class MissingToolError(RuntimeError):
    """A decoder's program or package (ffmpeg, tensorflow-io) is not installed where needed."""


class _DecoderFailed(Exception):
    """The decoder gave up on the file (opening it or in the middle)."""


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


def decoder_for(container: str, choice: str = "auto") -> str:
    """The decoder that reads `container` under `--decoder choice`.

    soundfile and tensorflow-io do not read m4a/aac, which PyAV then reads; tensorflow-io is
    used for mp3 only (as it always was), other formats going to soundfile.
    """
    if container in ("m4a", "aac") and choice in ("auto", "soundfile", "tensorflow-io"):
        return "pyav"
    if choice == "auto" or (choice == "tensorflow-io" and container != "mp3"):
        return "soundfile"
    return choice


def _missing_tools() -> list[str]:
    return [tool for tool in ("ffmpeg", "ffprobe") if shutil.which(tool) is None]


def has_ffmpeg() -> bool:
    """Whether ffmpeg and ffprobe are on the PATH (to salvage what the decoder rejects)."""
    return not _missing_tools()


def check_ffmpeg() -> None:
    """Raises MissingToolError in one line unless ffmpeg and ffprobe are on the PATH."""
    if missing := _missing_tools():
        raise MissingToolError(
            f"{' and '.join(missing)} not found on the PATH: install ffmpeg (Debian: apt-get install "
            "ffmpeg), or on Dataflow use the worker image of the Dockerfile"
        )


def check_decoder(choice: str) -> None:
    """Raises MissingToolError in one line when `--decoder choice` is not installed here."""
    if choice == "tensorflow-io" and importlib.util.find_spec("tensorflow_io") is None:
        raise MissingToolError(
            "--decoder tensorflow-io: tensorflow-io is not installed in this environment (it loads "
            "only on TensorFlow 2.17): run `bash setup.sh --tensorflow-io` and use "
            ".venv-tensorflow-io/bin/python"
        )


@contextlib.contextmanager
def local_copy(path: str, open_file: Opener = open_local) -> Iterator[str]:
    """A local file path for `path`, copied through `open_file` (gs://...) if it is not local."""
    if os.path.exists(path):
        yield path
        return
    suffix = os.path.splitext(path)[1]
    with tempfile.NamedTemporaryFile(suffix=suffix) as local, open_file(path) as remote:
        shutil.copyfileobj(remote, local, length=1 << 20)
        local.flush()
        yield local.name


class AudioStream:
    """An opened recording, read as mono float32 chunks at `sample_rate`, as often as needed.

    `scan` makes the first pass: if the decoder fails there, the pass restarts with ffmpeg
    (`decoder` becomes "ffmpeg-salvage") and later passes read with ffmpeg too.
    """

    def __init__(self, path: str, sample_rate: int, decoder: str, chunk_seconds: float) -> None:
        self.path = path
        self.sample_rate = sample_rate
        self.decoder = decoder
        self._chunk_seconds = chunk_seconds
        try:
            self.source_rate, self.channels = _DECODERS[_library(decoder)].info(path)
        except _DecoderFailed as error:
            self._salvage(error)

    def _salvage(self, error: _DecoderFailed) -> None:
        if self.decoder in ("ffmpeg", SALVAGE):
            raise AudioError("undecodable", str(error)) from None
        if not has_ffmpeg():
            raise AudioError(
                "undecodable",
                f"{error} ({self.decoder}; ffmpeg, which may salvage it, is not installed)",
            ) from None
        self.decoder = SALVAGE
        try:
            self.source_rate, self.channels = _DECODERS["ffmpeg"].info(self.path)
        except _DecoderFailed as salvage_error:
            raise AudioError("undecodable", f"{error}; ffmpeg: {salvage_error}") from None

    def chunks(self) -> Iterator[np.ndarray]:
        """The mono float32 samples at `sample_rate`, chunk by chunk, from the start."""
        frames = max(1, round(self._chunk_seconds * self.source_rate))
        resampler = _Resampler(self.source_rate, self.sample_rate)
        for chunk in _DECODERS[_library(self.decoder)].chunks(self.path, frames):
            if len(resampled := resampler.push(chunk)):
                yield resampled
        if len(tail := resampler.flush()):
            yield tail

    def scan(self, consume: Callable[[Iterator[np.ndarray]], _T]) -> _T:
        """consume(self.chunks()), salvaging with ffmpeg once if the decoder fails meanwhile."""
        try:
            return consume(self.chunks())
        except _DecoderFailed as error:
            self._salvage(error)
        try:
            return consume(self.chunks())
        except _DecoderFailed as error:
            raise AudioError("undecodable", str(error)) from None


@contextlib.contextmanager
def open_audio(
    path: str,
    sample_rate: int,
    decoder: str = "auto",
    chunk_seconds: float = CHUNK_SECONDS,
    *,
    open_file: Opener = open_local,
) -> Iterator[AudioStream]:
    """An AudioStream of `path`, decoded as `decoder` says; a path that is not a local file is
    copied to one through `open_file` (the builder's reads Beam's filesystems, predict's
    TensorFlow's).

    Raises AudioError for empty, unrecognised or undecodable files, MissingToolError when
    `decoder` is "ffmpeg" and ffmpeg is not installed.
    """
    with local_copy(path, open_file) as local:
        with open(local, "rb") as f:
            head = f.read(_HEAD_BYTES)
        if not head:
            raise AudioError("empty", "the file has no bytes")
        container = sniff_format(head)
        if container is None:
            raise AudioError("unrecognised_format", f"not an audio file (starts with {head[:8]!r})")
        name = decoder_for(container, decoder)
        if name == "ffmpeg":
            check_ffmpeg()
        yield AudioStream(local, sample_rate, name, chunk_seconds)


class _Resampler:
    """soxr's streaming resampler: chunk by chunk, bit-identical to resampling the whole signal."""

    def __init__(self, source_rate: int, target_rate: int) -> None:
        self._stream = None
        if source_rate != target_rate:
            import soxr

            self._stream = soxr.ResampleStream(
                source_rate, target_rate, 1, dtype="float32", quality=RESAMPLER_QUALITY
            )

    def push(self, chunk: np.ndarray) -> np.ndarray:
        if self._stream is None:
            return chunk
        return self._stream.resample_chunk(chunk, last=False)

    def flush(self) -> np.ndarray:
        if self._stream is None:
            return np.zeros(0, np.float32)
        return self._stream.resample_chunk(np.zeros(0, np.float32), last=True)


def _library(decoder: str) -> str:
    return "ffmpeg" if decoder == SALVAGE else decoder


def _mono(frames: np.ndarray) -> np.ndarray:
    """The float32 mean of the channels of (frames, channels) samples.

    Bit for bit frames.mean(axis=1, dtype=np.float32), which is slow on so short an axis:
    stereo is summed column by column from +0.0 as the mean's sum is (so -0.0 + -0.0 gives
    +0.0), then halved in float32.
    """
    if frames.shape[1] == 1:
        return np.ascontiguousarray(frames[:, 0], dtype=np.float32)
    if frames.shape[1] != 2:
        return frames.mean(axis=1, dtype=np.float32)
    total = frames[:, 0] + frames[:, 1]
    total += np.float32(0.0)
    total /= np.float32(2)
    return total


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _failure(error: Exception) -> _DecoderFailed:
    return _DecoderFailed((str(error).splitlines() or [type(error).__name__])[0])


class _SoundFile:
    """libsndfile through the soundfile wheel: wav, flac, ogg, mp3."""

    @staticmethod
    def info(path: str) -> tuple[int, int]:
        import soundfile

        try:
            info = soundfile.info(path)
        except Exception as error:  # noqa: BLE001 - libsndfile's errors: the decoder gives up
            raise _failure(error) from None
        if not info.channels or not info.samplerate:
            raise _DecoderFailed("soundfile finds no audio in it")
        return info.samplerate, info.channels

    @staticmethod
    def chunks(path: str, frames: int) -> Iterator[np.ndarray]:
        import soundfile

        try:
            with soundfile.SoundFile(path) as f:
                while len(block := f.read(frames, dtype="float32", always_2d=True)):
                    yield _mono(block)
        except Exception as error:  # noqa: BLE001 - libsndfile's errors: the decoder gives up
            raise _failure(error) from None


class _PyAV:
    """FFmpeg's libraries in-process through the PyAV wheel: every format FFmpeg reads."""

    @staticmethod
    def info(path: str) -> tuple[int, int]:
        import av

        try:
            with av.open(path) as container:
                if not container.streams.audio:
                    raise _DecoderFailed("PyAV finds no audio stream in it")
                codec = container.streams.audio[0].codec_context
                if not codec.sample_rate or not codec.channels:
                    raise _DecoderFailed("PyAV finds no audio in it")
                return codec.sample_rate, codec.channels
        except (av.FFmpegError, IndexError, ValueError) as error:
            raise _failure(error) from None

    @staticmethod
    def chunks(path: str, frames: int) -> Iterator[np.ndarray]:
        import av

        pending: list[np.ndarray] = []
        size = 0
        try:
            with av.open(path) as container:
                stream = container.streams.audio[0]
                planar = av.AudioResampler(format="fltp")  # any sample format to float planes
                for frame in _decoded_frames(container, stream):
                    for converted in planar.resample(frame):
                        pending.append(_mono(converted.to_ndarray().T))
                        size += converted.samples
                    if size >= frames:
                        yield np.concatenate(pending)
                        pending, size = [], 0
        except Exception as error:  # noqa: BLE001 - FFmpeg's errors: the decoder gives up
            raise _failure(error) from None
        if pending:
            yield np.concatenate(pending)


def _decoded_frames(container, stream) -> Iterator:
    """The frames of an audio stream; a packet FFmpeg cannot decode is skipped, as ffmpeg does."""
    import av

    for packet in container.demux(stream):
        try:
            yield from packet.decode()
        except av.InvalidDataError:
            continue


class _TensorflowIO:
    """tensorflow-io's AudioIOTensor (mp3); abandoned upstream, kept because users ask for it."""

    @staticmethod
    def _open(path: str):
        """Called with _TFIO_LOCK held."""
        import tensorflow_io as tfio

        try:
            tensor = tfio.audio.AudioIOTensor(path)
            length, channels = (int(n) for n in tensor.shape)
            rate = int(tensor.rate)
        except Exception as error:  # noqa: BLE001 - TensorFlow's many error types
            raise _failure(error) from None
        if length == 0 or channels == 0:
            raise _DecoderFailed("tensorflow-io found no audio frames")
        return tensor, length, channels, rate

    @classmethod
    def info(cls, path: str) -> tuple[int, int]:
        with _TFIO_LOCK:
            _, _, channels, rate = cls._open(path)
        return rate, channels

    @classmethod
    def chunks(cls, path: str, frames: int) -> Iterator[np.ndarray]:
        # Readers of one process share state: interleaving two files' reads, even in one
        # thread, fails or mixes them up. So one file is opened and read at a time, to its end.
        with _TFIO_LOCK:
            tensor, length, _, _ = cls._open(path)
            for start in range(0, length, frames):
                try:
                    block = tensor[start : min(length, start + frames)].numpy()
                except Exception as error:  # noqa: BLE001 - TensorFlow's many error types
                    raise _failure(error) from None
                yield _mono(block)


class _FFmpeg:
    """The ffmpeg command (probed with pydub): the salvage path for damaged files."""

    @staticmethod
    def info(path: str) -> tuple[int, int]:
        from pydub.utils import mediainfo_json

        info = mediainfo_json(path)
        streams = [s for s in info.get("streams", []) if s.get("codec_type") == "audio"]
        if not streams or not int(streams[0].get("channels") or 0):
            raise _DecoderFailed("ffprobe finds no audio stream in it")
        return int(streams[0]["sample_rate"]), int(streams[0]["channels"])

    @classmethod
    def chunks(cls, path: str, frames: int) -> Iterator[np.ndarray]:
        _, channels = cls.info(path)
        command = ["ffmpeg", "-nostdin", "-v", "error", "-i", path, "-map", "0:a:0",
                   "-f", "f32le", "-acodec", "pcm_f32le", "pipe:1"]  # fmt: skip
        frame_bytes = 4 * channels
        produced = False
        with (
            tempfile.TemporaryFile() as errors,
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors) as process,
        ):
            while data := process.stdout.read(frames * frame_bytes):
                usable = len(data) // frame_bytes * frame_bytes
                if usable:
                    produced = True
                    yield _mono(np.frombuffer(data[:usable], np.float32).reshape(-1, channels))
            process.wait()
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
        if not produced:
            raise _DecoderFailed(_last_line(stderr) or "ffmpeg decoded no audio")


_DECODERS = {
    "soundfile": _SoundFile,
    "pyav": _PyAV,
    "tensorflow-io": _TensorflowIO,
    "ffmpeg": _FFmpeg,
}
