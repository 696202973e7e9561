"""Decoding: by content not name, any rate and layout, bounded chunks equal to the whole."""

import numpy as np
import pytest
import scipy.signal

from pipeline.audio import AudioError, load_audio, resample_chunks, sniff_format
from tests.audio_files import encode, mp3, tone

RATE = 22050


@pytest.mark.parametrize("source_rate", [8000, 32000, 44100, 48000, 96000])
def test_any_rate_becomes_the_target_rate(tmp_path, source_rate):
    audio = load_audio(str(mp3(tmp_path / "a.mp3", 3.0, source_rate)), RATE) if source_rate <= 48000 else \
        load_audio(str(encode(tmp_path / "a.flac", tone(3.0, source_rate), source_rate)), RATE)  # fmt: skip
    assert audio.sample_rate == RATE and audio.source_rate == source_rate
    assert abs(audio.seconds - 3.0) < 0.1
    spectrum = np.abs(np.fft.rfft(audio.samples[: RATE * 2]))
    peak_hz = np.argmax(spectrum) * RATE / (2 * len(spectrum) - 2)
    assert 2500 < peak_hz < 3500  # the tone stays where it was: resampled, not misread


def test_stereo_and_six_channels_are_averaged(tmp_path):
    stereo = tone(2.0, 44100, channels=2)
    stereo[:, 1] = 0.0
    audio = load_audio(str(encode(tmp_path / "s.mp3", stereo, 44100, "-c:a", "libmp3lame")), 44100)
    mono = load_audio(
        str(encode(tmp_path / "m.mp3", stereo[:, :1], 44100, "-c:a", "libmp3lame")), 44100
    )
    assert audio.channels == 2
    ratio = np.std(audio.samples) / np.std(mono.samples)
    assert 0.45 < ratio < 0.55
    six = load_audio(str(encode(tmp_path / "six.wav", tone(2.0, 48000, channels=6), 48000)), RATE)
    assert six.channels == 6 and six.decoder == "ffmpeg"


def test_wav_named_mp3_is_decoded_by_content(tmp_path):
    path = encode(tmp_path / "really-a-wav.mp3", tone(2.0, 32000), 32000, "-f", "wav")
    audio = load_audio(str(path), RATE)
    assert audio.decoder == "ffmpeg" and abs(audio.seconds - 2.0) < 0.01


def test_damaged_mp3_is_salvaged_with_ffmpeg(tmp_path):
    data = mp3(tmp_path / "good.mp3", 8.0).read_bytes()
    damaged = tmp_path / "cut.mp3"
    damaged.write_bytes(data[: len(data) // 2 + 101])
    audio = load_audio(str(damaged), RATE)
    assert audio.decoder == "ffmpeg-salvage" and 3.0 < audio.seconds < 4.5


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"this is a text file, not audio\n" * 20, "unrecognised_format"),
     (np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes(), "unrecognised_format")],
)  # fmt: skip
def test_bad_files_raise_a_reason(tmp_path, content, reason):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioError) as error:
        load_audio(str(path), RATE)
    assert error.value.reason == reason


def test_chunked_decoding_equals_whole_file(tmp_path):
    path = str(mp3(tmp_path / "a.mp3", 12.0, 48000, 2))
    whole = load_audio(path, RATE, chunk_seconds=1000)
    chunked = load_audio(path, RATE, chunk_seconds=0.7)
    np.testing.assert_array_equal(whole.samples, chunked.samples)


@pytest.mark.parametrize("source_rate", [8000, 44100, 48000, 96000])
def test_resample_chunks_equals_resample_poly(source_rate):
    signal = np.random.default_rng(1).standard_normal(50_000).astype(np.float32)
    chunks = (signal[i : i + 3001] for i in range(0, len(signal), 3001))
    gcd = np.gcd(source_rate, RATE)
    expected = scipy.signal.resample_poly(signal, RATE // gcd, source_rate // gcd)
    np.testing.assert_allclose(resample_chunks(chunks, source_rate, RATE), expected, atol=1e-6)


def test_sniff_format():
    assert sniff_format(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert sniff_format(b"ID3\x04\0\0\0\0\0\0") == "mp3"
    assert sniff_format(b"\xff\xfb\x90\x00") == "mp3"
    assert sniff_format(b"fLaC\0\0\0\x22") == "flac"
    assert sniff_format(b"OggS\0\x02") == "ogg"
    assert sniff_format(b"\0\0\0\x20ftypM4A ") == "m4a"
    assert sniff_format(b"hello") is None


def test_threads_decoding_at_once_get_their_own_audio(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    paths = [
        str(mp3(tmp_path / f"{i}.mp3", 3.0 + i, (32000, 44100, 48000)[i % 3])) for i in range(6)
    ]
    alone = [load_audio(path, RATE).samples for path in paths]
    for _ in range(3):
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(lambda path: load_audio(path, RATE).samples, paths))
        for one, other in zip(alone, together, strict=True):
            np.testing.assert_array_equal(one, other)
