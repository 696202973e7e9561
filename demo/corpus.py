"""A deterministic synthetic songbird corpus: the project's demo data and test fixture source.

Each invented species sings its own song (frequency band, note shapes, note count, rhythm);
each recording varies it in pitch, tempo, loudness and the number of bouts, over pink or brown
noise, wind rumble and now and then another species far away. Recordings are written as mp3
(a mix of sample rates, mono and stereo, CBR and VBR) with a xeno-canto style metadata.csv.
The same arguments give byte-identical files.

    python -m demo.corpus OUT_DIR [--seed N]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import dataclasses
import fcntl
import json
import os
import pathlib
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import numpy as np

VERSION = 1
MANIFEST_NAME = "manifest.json"
METADATA_NAME = "metadata.csv"
AUDIO_DIR = "audio"
COLUMNS = ("id", "gen", "sp", "en", "type", "q", "lic", "file-name")
SAMPLE_RATES = (44100, 48000, 32000)
SONG_TYPES = ("song", "dawn song", "call, song")
SONG_TYPE_WEIGHTS = (0.7, 0.15, 0.15)
LICENSES = (
    "//creativecommons.org/licenses/by-nc-sa/4.0/",
    "//creativecommons.org/licenses/by-nc-nd/4.0/",
    "//creativecommons.org/licenses/by-sa/4.0/",
    "//creativecommons.org/licenses/by/4.0/",
    "//creativecommons.org/licenses/by-nc-sa/3.0/",
)
_TAU = 2.0 * np.pi
_TOP_HZ = 9500.0  # harmonics fade out towards this, keeping energy below ~10 kHz


@dataclasses.dataclass(frozen=True)
class Note:
    """One note: a glide from start_hz to end_hz, then `gap` seconds of silence.

    "tone" is a whistle, slur or sweep (with `harmonics` > 1 a harmonic stack); "trill" repeats
    a start_hz to end_hz element `rate_hz` times a second; "buzz" is a tone frequency-modulated
    at `rate_hz`.
    """

    shape: str
    start_hz: float
    end_hz: float
    seconds: float
    gap: float
    rate_hz: float = 0.0
    harmonics: int = 1


Song = Callable[[np.random.Generator], list[Note]]


@dataclasses.dataclass(frozen=True)
class _Species:
    english: str
    genus: str
    epithet: str
    song: Song
    call: Note


def _azure_whistler(rng: np.random.Generator) -> list[Note]:
    steps = 0.93 ** np.arange(rng.integers(3, 6))
    return [Note("tone", 3900 * s, 3860 * s, rng.uniform(0.22, 0.32), 0.12) for s in steps]


def _dusky_trillbird(rng: np.random.Generator) -> list[Note]:
    return [
        Note("tone", 4400, 4300, 0.18, 0.08),
        Note("trill", 5200, 3600, rng.uniform(1.2, 2.0), 0.0, rate_hz=16.0),
    ]


def _finchs_warbler(rng: np.random.Generator) -> list[Note]:
    sweeps = [Note("tone", 3000, 5400, 0.12, 0.1)] * int(rng.integers(2, 4))
    return sweeps + [
        Note("trill", 5800, 4200, rng.uniform(0.6, 1.0), 0.06, rate_hz=9.0),
        Note("buzz", 4900, 4700, 0.35, 0.0, rate_hz=70.0),
    ]


def _ember_throated_slurrer(rng: np.random.Generator) -> list[Note]:
    return [Note("tone", 6500, 2800, 0.18, 0.15)] * int(rng.integers(4, 7))


def _chatter(gaps: Sequence[float]) -> list[Note]:
    """The two chatterwrens' shared note, differing only in the gaps (the rhythm)."""
    return [Note("tone", 5500, 4000, 0.07, gap) for gap in gaps]


def _northern_chatterwren(rng: np.random.Generator) -> list[Note]:
    return _chatter([0.09] * int(rng.integers(8, 13)))


def _southern_chatterwren(rng: np.random.Generator) -> list[Note]:
    return _chatter([0.035, 0.145] * int(rng.integers(4, 7)))


def _sedge_buzzer(rng: np.random.Generator) -> list[Note]:
    intro = [Note("tone", 7000, 6800, 0.1, 0.08)] * int(rng.integers(1, 3))
    return intro + [Note("buzz", 4600, 4400, rng.uniform(0.9, 1.4), 0.0, rate_hz=90.0)]


def _grey_reedhorn(rng: np.random.Generator) -> list[Note]:
    return [Note("tone", 1650, 1450, 0.3, 0.2, harmonics=5)] * int(rng.integers(2, 5))


def _rising_sunbird(rng: np.random.Generator) -> list[Note]:
    sweeps = [Note("tone", 2200, 6500, 0.35, 0.15)] * int(rng.integers(2, 4))
    return sweeps + [Note("tone", 5000, 4950, 0.4, 0.0)]


_THRUSH_MOTIFS = (
    Note("tone", 3200, 3150, 0.3, 0.1),
    Note("tone", 2000, 1900, 0.25, 0.1, harmonics=3),
    Note("trill", 4500, 3500, 0.5, 0.1, rate_hz=22.0),
    Note("tone", 5000, 3000, 0.2, 0.1),
)


def _cinder_thrush(rng: np.random.Generator) -> list[Note]:
    picks = rng.integers(0, len(_THRUSH_MOTIFS), size=rng.integers(3, 6))
    return [_THRUSH_MOTIFS[i] for i in picks]


_SPECIES = (
    _Species(
        "Azure Whistler",
        "Sialornis",
        "caerulea",
        _azure_whistler,
        Note("tone", 3300, 2900, 0.06, 0.0),
    ),
    _Species(
        "Dusky Trillbird",
        "Trillops",
        "fuscus",
        _dusky_trillbird,
        Note("tone", 7000, 5500, 0.05, 0.0),
    ),
    _Species(
        "Finch's Warbler",
        "Sylvinella",
        "finchii",
        _finchs_warbler,
        Note("tone", 5000, 5600, 0.05, 0.0),
    ),
    _Species(
        "Ember-throated Slurrer",
        "Lapsornis",
        "ignigularis",
        _ember_throated_slurrer,
        Note("tone", 6000, 3500, 0.07, 0.0),
    ),
    _Species(
        "Northern Chatterwren",
        "Garrulinus",
        "borealis",
        _northern_chatterwren,
        Note("buzz", 4800, 4700, 0.12, 0.0, rate_hz=60.0),
    ),
    _Species(
        "Southern Chatterwren",
        "Garrulinus",
        "australis",
        _southern_chatterwren,
        Note("buzz", 4800, 4700, 0.12, 0.0, rate_hz=60.0),
    ),
    _Species(
        "Sedge Buzzer", "Stridulops", "caricis", _sedge_buzzer, Note("tone", 7500, 7400, 0.04, 0.0)
    ),
    _Species(
        "Grey Reedhorn",
        "Calamocornis",
        "griseus",
        _grey_reedhorn,
        Note("tone", 1500, 1400, 0.12, 0.0, harmonics=4),
    ),
    _Species(
        "Rising Sunbird",
        "Heliosalpinx",
        "ascendens",
        _rising_sunbird,
        Note("tone", 4000, 6000, 0.06, 0.0),
    ),
    _Species(
        "Cinder Thrush",
        "Turdinella",
        "cinerea",
        _cinder_thrush,
        Note("tone", 3000, 2600, 0.08, 0.0, harmonics=2),
    ),
)

SPECIES: tuple[str, ...] = tuple(s.english for s in _SPECIES)


# --- synthesis -------------------------------------------------------------------------------


def _envelope(n: int, sample_rate: int) -> np.ndarray:
    """Flat with raised-cosine ramps of up to 12 ms, so notes start and end without clicks."""
    ramp_len = max(1, min(int(0.012 * sample_rate), n // 4))
    ramp = 0.5 - 0.5 * np.cos(np.pi * np.arange(ramp_len) / ramp_len)
    env = np.ones(n)
    env[:ramp_len] = ramp
    env[n - ramp_len :] = np.minimum(env[n - ramp_len :], ramp[::-1])
    return env


def _render_note(note: Note, sample_rate: int) -> np.ndarray:
    """One note as float64 samples, phase-continuous via the cumulative sum of its frequency."""
    n = max(int(round(note.seconds * sample_rate)), 2)
    t = np.arange(n) / sample_rate
    amplitude = _envelope(n, sample_rate)
    if note.shape == "trill":
        progress = (t * note.rate_hz) % 1.0
        amplitude *= np.sin(np.pi * np.minimum(progress / 0.7, 1.0)) ** 2
    else:
        progress = t / note.seconds
    freq = note.start_hz * (note.end_hz / note.start_hz) ** progress
    if note.shape == "buzz":
        wobble = np.sin(_TAU * note.rate_hz * t)
        freq = freq * (1.0 + 0.2 * wobble)
        amplitude *= 0.55 + 0.45 * wobble
    elif note.shape == "tone":
        freq = freq * (1.0 + 0.003 * np.sin(_TAU * 6.0 * t))
    phase = _TAU * np.cumsum(freq) / sample_rate
    wave = np.zeros(n)
    for k in range(1, note.harmonics + 1):
        fade = np.clip((_TOP_HZ - k * freq) / 1500.0, 0.0, 1.0)
        wave += 0.6 ** (k - 1) * fade * np.sin(k * phase)
    return amplitude * wave


def _render_bout(notes: Sequence[Note], sample_rate: int, pitch: float, tempo: float) -> np.ndarray:
    """Notes in sequence, pitch- and tempo-scaled, normalised to a peak of 1."""
    pieces = []
    for note in notes:
        scaled = dataclasses.replace(
            note,
            start_hz=note.start_hz * pitch,
            end_hz=note.end_hz * pitch,
            seconds=note.seconds * tempo,
            gap=note.gap * tempo,
            rate_hz=note.rate_hz / tempo,
        )
        pieces += [_render_note(scaled, sample_rate), np.zeros(int(scaled.gap * sample_rate))]
    bout = np.concatenate(pieces)
    return bout / np.max(np.abs(bout))


def _place_bouts(
    rng: np.random.Generator,
    n: int,
    sample_rate: int,
    make_bout: Callable[[], np.ndarray],
    mean_silence: float,
) -> np.ndarray:
    """A track of n samples with bouts separated by silences; the first bout always fits."""
    track = np.zeros(n)
    bout = make_bout()
    position = max(0, min(int(rng.uniform(0.3, 3.0) * sample_rate), n // 4, n - bout.size))
    while True:
        end = min(n, position + bout.size)
        track[position:end] += bout[: end - position]
        position = end + int(mean_silence * rng.uniform(0.6, 1.4) * sample_rate)
        bout = make_bout()
        if position + bout.size > n:
            return track


def _voice(rng: np.random.Generator) -> tuple[float, float]:
    """An individual bird's pitch factor (a few %) and tempo factor."""
    pitch = float(np.exp(np.clip(rng.normal(0.0, 0.025), -0.06, 0.06)))
    tempo = float(np.exp(np.clip(rng.normal(0.0, 0.06), -0.15, 0.15)))
    return pitch, tempo


def _song_track(
    species_index: int, rng: np.random.Generator, n: int, sample_rate: int, mean_silence: float
) -> np.ndarray:
    species = _SPECIES[species_index]
    pitch, tempo = _voice(rng)

    def bout() -> np.ndarray:
        jitter = 1.0 + rng.normal(0.0, 0.005)
        return _render_bout(species.song(rng), sample_rate, pitch * jitter, tempo)

    return _place_bouts(rng, n, sample_rate, bout, mean_silence)


def _call_track(
    species_index: int, rng: np.random.Generator, n: int, sample_rate: int, mean_silence: float
) -> np.ndarray:
    call = _SPECIES[species_index].call
    pitch, _ = _voice(rng)

    def group() -> np.ndarray:
        notes = [
            dataclasses.replace(call, gap=rng.uniform(0.08, 0.3)) for _ in range(rng.integers(1, 4))
        ]
        return _render_bout(notes, sample_rate, pitch, 1.0)

    return _place_bouts(rng, n, sample_rate, group, mean_silence)


def _colored_noise(
    rng: np.random.Generator, n: int, sample_rate: int, shape: Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Gaussian noise with the given amplitude spectrum shape, scaled to unit RMS."""
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    noise = np.fft.irfft(spectrum * shape(np.fft.rfftfreq(n, 1.0 / sample_rate)), n)
    return noise / max(float(np.sqrt(np.mean(noise**2))), 1e-12)


def _background(rng: np.random.Generator, n: int, sample_rate: int) -> np.ndarray:
    """Pink or brown noise rolled off above 8 kHz, sometimes with gusty low wind rumble."""
    exponent = 1.0 if rng.random() < 0.5 else 2.0
    noise = _colored_noise(
        rng,
        n,
        sample_rate,
        lambda f: np.maximum(f, 20.0) ** (-exponent / 2) / np.sqrt(1.0 + (f / 8000.0) ** 4),
    )
    if rng.random() < 0.5:
        rumble = _colored_noise(rng, n, sample_rate, lambda f: 1.0 / (1.0 + (f / 120.0) ** 2))
        knots = np.arange(0.0, n / sample_rate + 0.7, 0.7)
        gusts = np.interp(np.arange(n) / sample_rate, knots, rng.uniform(0.1, 1.0, knots.size))
        noise += rng.uniform(0.5, 2.0) * gusts * rumble
    return noise


def _quality(snr_db: float, faint_species: bool) -> str:
    """xeno-canto's A (best) to E from the signal-to-noise ratio, one worse for a second bird."""
    grade = int(np.searchsorted([20.0, 25.0, 30.0, 35.0], snr_db)) - int(faint_species)
    return "EDCBA"[max(grade, 0)]


def _synthesize(
    species_index: int, rng: np.random.Generator, sample_rate: int, seconds: float, sound_type: str
) -> tuple[np.ndarray, str]:
    """A mono recording of `sound_type` and its quality grade."""
    n = max(int(round(seconds * sample_rate)), 1)
    if sound_type == "call":
        track = _call_track(species_index, rng, n, sample_rate, rng.uniform(1.0, 3.0))
    else:
        dawn = 0.6 if sound_type == "dawn song" else 1.0
        track = _song_track(species_index, rng, n, sample_rate, dawn * rng.uniform(3.0, 8.0))
        if "call" in sound_type:
            track += 0.6 * _call_track(species_index, rng, n, sample_rate, rng.uniform(4.0, 8.0))
    gain = 10.0 ** (rng.uniform(-12.0, -2.0) / 20.0)
    snr_db = rng.uniform(18.0, 45.0)
    mix = gain * (track + 10.0 ** (-snr_db / 20.0) * _background(rng, n, sample_rate))
    faint_species = bool(rng.random() < 0.3)
    if faint_species:
        other = (species_index + int(rng.integers(1, len(_SPECIES)))) % len(_SPECIES)
        far = _song_track(other, rng, n, sample_rate, rng.uniform(4.0, 12.0))
        mix += gain * 10.0 ** (-rng.uniform(22.0, 34.0) / 20.0) * far
    return np.clip(mix, -1.0, 1.0).astype(np.float32), _quality(snr_db, faint_species)


def synthesize_song(
    species_index: int, rng: np.random.Generator, sample_rate: int, seconds: float
) -> np.ndarray:
    """A song recording of SPECIES[species_index]: float32 mono samples in [-1, 1].

    Song bouts separated by silences, over background noise, `seconds` long.
    """
    return _synthesize(species_index, rng, sample_rate, seconds, "song")[0]


# --- encoding --------------------------------------------------------------------------------


class Encoding(NamedTuple):
    """How one recording is stored: sample rate, channel count, VBR (else 128k CBR)."""

    sample_rate: int
    channels: int
    vbr: bool


def encoding_for(index: int) -> Encoding:
    """The encoding of the corpus's index-th recording; any 12 consecutive ones hold every mix."""
    return Encoding(SAMPLE_RATES[index % 3], 1 + index % 2, (index // 2) % 2 == 1)


def _to_pcm(audio: np.ndarray, channels: int, rng: np.random.Generator) -> bytes:
    """Interleaved s16le; a stereo right channel is the left, quieter and one sample late.

    (A longer delay would comb-filter the song band when the pipeline mixes down to mono.)
    """
    if channels == 2:
        right = rng.uniform(0.6, 0.95) * np.concatenate([[0.0], audio[:-1]])
        audio = np.stack([audio, right], axis=1).ravel()
    return np.round(audio * 32767.0).astype("<i2").tobytes()


def _ffmpeg() -> str:
    path = shutil.which("ffmpeg")
    if path is None:
        raise RuntimeError("ffmpeg was not found on PATH; it is needed to write the demo corpus")
    return path


def _encode_mp3(pcm: bytes, encoding: Encoding, path: pathlib.Path) -> None:
    """Encodes raw PCM to an mp3 at `path` with ffmpeg/libmp3lame, bit-exactly and atomically."""
    partial = path.with_name(path.name + ".part")
    quality = ["-q:a", "4"] if encoding.vbr else ["-b:a", "128k"]
    command = [
        _ffmpeg(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-f",
        "s16le",
        "-ar",
        str(encoding.sample_rate),
        "-ac",
        str(encoding.channels),
        "-i",
        "pipe:0",
        "-map_metadata",
        "-1",
        "-fflags",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        "-c:a",
        "libmp3lame",
        *quality,
        "-f",
        "mp3",
        "-y",
        str(partial),
    ]
    result = subprocess.run(command, input=pcm, capture_output=True, check=False)
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        message = result.stderr.decode(errors="replace").strip()[-500:]
        raise RuntimeError(f"ffmpeg failed to encode {path.name}: {message}")
    os.replace(partial, path)


# --- the corpus ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _Job:
    xc_id: int
    species_index: int
    is_call: bool
    index: int  # within the species and kind
    encoding: Encoding


def _plan(
    seed: int, species: int, recordings_per_species: int, calls_per_species: int
) -> list[_Job]:
    """Every recording of the corpus, with unique xeno-canto-like ids and its encoding."""
    kinds = [
        (s, is_call, index)
        for s in range(species)
        for is_call, count in ((False, recordings_per_species), (True, calls_per_species))
        for index in range(count)
    ]
    ids = np.random.default_rng([seed, len(kinds)]).choice(900_000, len(kinds), replace=False)
    return [
        _Job(100_000 + int(xc_id), s, is_call, index, encoding_for(i))
        for i, ((s, is_call, index), xc_id) in enumerate(zip(kinds, ids, strict=True))
    ]


def _make_recording(
    job: _Job, seed: int, min_seconds: float, max_seconds: float, audio_dir: pathlib.Path
) -> dict[str, str]:
    """Synthesises and encodes one recording; returns its metadata row."""
    rng = np.random.default_rng([seed, job.species_index, int(job.is_call), job.index])
    seconds = rng.uniform(min_seconds, max_seconds)
    sound_type = "call" if job.is_call else SONG_TYPES[rng.choice(3, p=SONG_TYPE_WEIGHTS)]
    license_url = LICENSES[rng.integers(len(LICENSES))]
    audio, quality = _synthesize(
        job.species_index, rng, job.encoding.sample_rate, seconds, sound_type
    )
    file_name = f"{job.xc_id}.mp3"
    _encode_mp3(_to_pcm(audio, job.encoding.channels, rng), job.encoding, audio_dir / file_name)
    species = _SPECIES[job.species_index]
    values = (
        job.xc_id,
        species.genus,
        species.epithet,
        species.english,
        sound_type,
        quality,
        license_url,
        file_name,
    )
    return dict(zip(COLUMNS, map(str, values), strict=True))


def _write_metadata(path: pathlib.Path, rows: Sequence[dict[str, str]]) -> None:
    partial = path.with_name(path.name + ".part")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, path)


def _listed_files(out_dir: pathlib.Path) -> list[str]:
    """The file names metadata.csv lists, or [] when there is none."""
    try:
        with open(out_dir / METADATA_NAME, newline="", encoding="utf-8") as handle:
            return [row["file-name"] for row in csv.DictReader(handle)]
    except (OSError, KeyError):
        return []


def _is_complete(out_dir: pathlib.Path, manifest: dict[str, object]) -> bool:
    try:
        stored = json.loads((out_dir / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    names = _listed_files(out_dir)
    return (
        stored == manifest
        and bool(names)
        and all((out_dir / AUDIO_DIR / name).is_file() for name in names)
    )


@contextlib.contextmanager
def _locked(out_dir: pathlib.Path) -> Iterator[None]:
    """Serialises generators sharing one folder (e.g. the default cache across processes)."""
    with open(out_dir / ".lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _check_arguments(
    seed: int,
    species: int,
    recordings_per_species: int,
    min_seconds: float,
    max_seconds: float,
    calls_per_species: int,
) -> None:
    if seed < 0:
        raise ValueError(f"seed must be >= 0, got {seed}")
    if not 1 <= species <= len(SPECIES):
        raise ValueError(f"species must be between 1 and {len(SPECIES)}, got {species}")
    if recordings_per_species < 1 or calls_per_species < 0:
        raise ValueError("recordings_per_species must be >= 1 and calls_per_species >= 0")
    if not 0 < min_seconds <= max_seconds:
        raise ValueError(f"need 0 < min_seconds <= max_seconds, got {min_seconds}, {max_seconds}")


def generate_corpus(
    out_dir: str | os.PathLike,
    *,
    seed: int = 0,
    species: int = 8,
    recordings_per_species: int = 10,
    min_seconds: float = 10.0,
    max_seconds: float = 40.0,
    calls_per_species: int = 1,
) -> pathlib.Path:
    """Writes out_dir/audio/<id>.mp3 and out_dir/metadata.csv; returns out_dir.

    Reuses a complete corpus already there made with the same arguments (a small manifest
    file records the arguments; an incomplete or different one is regenerated).
    """
    _check_arguments(
        seed, species, recordings_per_species, min_seconds, max_seconds, calls_per_species
    )
    out = pathlib.Path(out_dir)
    manifest = {
        "version": VERSION,
        "seed": seed,
        "species": species,
        "recordings_per_species": recordings_per_species,
        "min_seconds": min_seconds,
        "max_seconds": max_seconds,
        "calls_per_species": calls_per_species,
    }
    (out / AUDIO_DIR).mkdir(parents=True, exist_ok=True)
    with _locked(out):
        if _is_complete(out, manifest):
            return out
        (out / MANIFEST_NAME).unlink(missing_ok=True)
        previous = set(_listed_files(out))
        jobs = _plan(seed, species, recordings_per_species, calls_per_species)
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            rows = list(
                pool.map(
                    lambda job: _make_recording(
                        job, seed, min_seconds, max_seconds, out / AUDIO_DIR
                    ),
                    jobs,
                )
            )
        _write_metadata(out / METADATA_NAME, rows)
        for stale in previous - {row["file-name"] for row in rows}:
            (out / AUDIO_DIR / stale).unlink(missing_ok=True)
        (out / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return out


def default_cache_dir() -> pathlib.Path:
    """$XDG_CACHE_HOME (or ~/.cache)/birdsong-datasets/demo-corpus-v1."""
    cache = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(cache) / "birdsong-datasets" / f"demo-corpus-v{VERSION}"


def main(argv: Sequence[str] | None = None) -> None:
    """Command line: writes a demo corpus to OUT_DIR."""
    parser = argparse.ArgumentParser(
        prog="python -m demo.corpus",
        description="Write a deterministic synthetic songbird corpus (mp3 + metadata.csv).",
    )
    parser.add_argument("out_dir", metavar="OUT_DIR", type=pathlib.Path)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--species", type=int, default=8, help=f"1 to {len(SPECIES)}")
    parser.add_argument("--recordings-per-species", type=int, default=10)
    parser.add_argument("--calls-per-species", type=int, default=1)
    parser.add_argument("--min-seconds", type=float, default=10.0)
    parser.add_argument("--max-seconds", type=float, default=40.0)
    args = parser.parse_args(argv)
    try:
        out = generate_corpus(
            args.out_dir,
            seed=args.seed,
            species=args.species,
            recordings_per_species=args.recordings_per_species,
            min_seconds=args.min_seconds,
            max_seconds=args.max_seconds,
            calls_per_species=args.calls_per_species,
        )
    except ValueError as error:
        parser.error(str(error))
    except RuntimeError as error:
        sys.exit(f"error: {error}")
    print(f"{len(_listed_files(out))} recordings in {out}")


if __name__ == "__main__":
    main()
