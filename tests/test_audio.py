"""Decoding: by content not name, every decoder alike, any rate and layout, chunks equal to the whole."""

import numpy as np
import pytest
import soxr

from frontend.audio import (
    SALVAGE,
    AudioError,
    MissingToolError,
    decoder_for,
    open_audio,
    sniff_format,
)
from schemas import SpectrogramParams
from tests.audio_files import encode, mp3, tone
from tests.decoding import load_audio, snippet_spectrograms

RATE = 22050
TENSORFLOW_IO = pytest.param("tensorflow-io", marks=pytest.mark.tensorflow_io)
DECODERS = ("soundfile", "pyav", TENSORFLOW_IO, "ffmpeg")


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
    assert six.channels == 6 and six.decoder == "soundfile"


@pytest.mark.parametrize(
    "kind",
    ["mp3-cbr-44k1-mono.mp3", "mp3-vbr-32k-stereo.mp3", "mp3-cbr-48k-stereo.mp3",
     "wav-16bit-48k.wav", "wav-24bit-44k1-stereo.wav", "flac-44k1.flac", "ogg-vorbis-48k.ogg"],
)  # fmt: skip
@pytest.mark.parametrize("decoder", DECODERS)
def test_every_decoder_gives_the_same_spectrogram(small_files, kind, decoder):
    params = SpectrogramParams()
    images = {}
    for name in ("soundfile", decoder):
        audio = load_audio(str(small_files[kind]), RATE, name)
        assert audio.decoder == decoder_for(sniff_format(small_files[kind].read_bytes()[:16]), name)
        images[name] = snippet_spectrograms(audio.samples, [0], params)[0].astype(int)
    difference = np.abs(images[decoder] - images["soundfile"])
    assert difference.max() <= 2, f"{difference.max()} grey levels off soundfile"


def test_m4a_is_read_in_process_by_pyav(tmp_path):
    path = encode(tmp_path / "a.m4a", tone(2.0, 44100), 44100, "-c:a", "aac")
    audio = load_audio(str(path), RATE)
    assert audio.decoder == "pyav" and abs(audio.seconds - 2.0) < 0.1


def test_wav_named_mp3_is_decoded_by_content(tmp_path):
    path = encode(tmp_path / "really-a-wav.mp3", tone(2.0, 32000), 32000, "-f", "wav")
    audio = load_audio(str(path), RATE)
    assert audio.decoder == "soundfile" and abs(audio.seconds - 2.0) < 0.01


@pytest.mark.parametrize("decoder", ["auto", TENSORFLOW_IO])
def test_damaged_mp3_is_read_up_to_the_damage(tmp_path, decoder):
    data = mp3(tmp_path / "good.mp3", 8.0).read_bytes()
    damaged = tmp_path / "cut.mp3"
    damaged.write_bytes(data[: len(data) // 2 + 101])
    assert 3.0 < load_audio(str(damaged), RATE, decoder).seconds < 4.5


def test_garbage_in_the_middle_is_skipped_or_salvaged(tmp_path):
    data = bytearray(mp3(tmp_path / "good.mp3", 8.0).read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = (
        np.random.default_rng(0).integers(0, 256, 3000, np.uint8).tobytes()
    )
    (tmp_path / "garbled.mp3").write_bytes(bytes(data))
    # libsndfile gives up there and ffmpeg salvages; PyAV skips the bad packets as ffmpeg does.
    for decoder, name in (("auto", SALVAGE), ("pyav", "pyav"), ("ffmpeg", "ffmpeg")):
        audio = load_audio(str(tmp_path / "garbled.mp3"), RATE, decoder)
        assert audio.decoder == name and 7.0 < audio.seconds < 8.2, decoder


def test_a_file_the_decoder_rejects_is_salvaged_with_ffmpeg(tmp_path, monkeypatch):
    # A WAV header claiming an encoding libsndfile does not read (G.722), ffmpeg does.
    path = encode(tmp_path / "g722.wav", tone(2.0, 16000), 16000, "-c:a", "g722")
    audio = load_audio(str(path), RATE)
    assert audio.decoder == SALVAGE and abs(audio.seconds - 2.0) < 0.1
    monkeypatch.setenv("PATH", str(tmp_path))  # no ffmpeg: a one-line reason, not a crash
    with pytest.raises(AudioError) as error:
        load_audio(str(path), RATE)
    assert error.value.reason == "undecodable" and "ffmpeg" in error.value.detail


def test_decoder_ffmpeg_without_ffmpeg_stops(tmp_path, monkeypatch):
    path = mp3(tmp_path / "a.mp3", 1.0)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError):
        load_audio(str(path), RATE, "ffmpeg")
    assert load_audio(str(path), RATE).decoder == "soundfile"  # the default needs no ffmpeg


@pytest.mark.parametrize(
    ("content", "reason"),
    [(b"", "empty"), (b"this is a text file, not audio\n" * 20, "unrecognised_format"),
     (np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes(), "unrecognised_format"),
     (b"ID3\x03\x00\x00\x00\x00\x00\x10" + bytes(3000), "undecodable")],
)  # fmt: skip
@pytest.mark.parametrize("decoder", DECODERS)
def test_bad_files_raise_a_reason(tmp_path, content, reason, decoder):
    path = tmp_path / "bad.mp3"
    path.write_bytes(content)
    with pytest.raises(AudioError) as error:
        audio = load_audio(str(path), RATE, decoder)
        if not len(audio.samples):  # what the builder reports for a stream of nothing
            raise AudioError("undecodable", "no audio")
    assert error.value.reason == reason


@pytest.mark.parametrize("decoder", DECODERS)
def test_chunked_decoding_equals_whole_file(tmp_path, decoder):
    path = str(mp3(tmp_path / "a.mp3", 12.0, 48000, 2))
    whole = load_audio(path, RATE, decoder, chunk_seconds=1000)
    chunked = load_audio(path, RATE, decoder, chunk_seconds=0.7)
    np.testing.assert_array_equal(whole.samples, chunked.samples)


def test_streamed_resampling_equals_soxr_on_the_whole_signal(tmp_path):
    signal = tone(7.0, 48000)[:, 0]
    path = encode(tmp_path / "a.wav", signal, 48000, "-c:a", "pcm_f32le")
    with open_audio(str(path), RATE, chunk_seconds=0.3) as stream:
        streamed = np.concatenate(list(stream.chunks()))
    np.testing.assert_array_equal(streamed, soxr.resample(signal, 48000, RATE, "HQ"))


def test_sniff_format():
    assert sniff_format(b"RIFF\0\0\0\0WAVEfmt ") == "wav"
    assert sniff_format(b"ID3\x04\0\0\0\0\0\0") == "mp3"
    assert sniff_format(b"\xff\xfb\x90\x00") == "mp3"
    assert sniff_format(b"fLaC\0\0\0\x22") == "flac"
    assert sniff_format(b"OggS\0\x02") == "ogg"
    assert sniff_format(b"\0\0\0\x20ftypM4A ") == "m4a"
    assert sniff_format(b"hello") is None


@pytest.mark.parametrize("decoder", ["auto", TENSORFLOW_IO])
def test_threads_decoding_at_once_get_their_own_audio(tmp_path, decoder):
    from concurrent.futures import ThreadPoolExecutor

    paths = [
        str(mp3(tmp_path / f"{i}.mp3", 3.0 + i, (32000, 44100, 48000)[i % 3])) for i in range(6)
    ]

    def load(path):
        return load_audio(path, RATE, decoder, chunk_seconds=0.5).samples

    alone = [load(path) for path in paths]
    for _ in range(3):
        with ThreadPoolExecutor(4) as pool:
            together = list(pool.map(load, paths))
        for one, other in zip(alone, together, strict=True):
            np.testing.assert_array_equal(one, other)
