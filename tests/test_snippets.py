"""Snippet selection: the loudest song bouts, never the silence between them."""

import numpy as np

from frontend.snippets import (
    SnippetSelection,
    block_energies,
    choose_snippets,
    dense_windows,
    loudest_windows,
    quietest_windows,
)

RATE = 22050
SNIPPET = 4 * RATE
HOP = 256


def choose(samples: np.ndarray, selection: SnippetSelection) -> list[int]:
    return choose_snippets(
        len(samples), block_energies(samples, HOP), RATE, SNIPPET, HOP, selection
    )


def bouts(seconds: float, loud: list[tuple[float, float]], seed: int = 0) -> np.ndarray:
    """Faint noise with loud tonal bouts at the given (start, end) seconds."""
    rng = np.random.default_rng(seed)
    samples = 0.001 * rng.standard_normal(round(seconds * RATE)).astype(np.float32)
    for start, end in loud:
        t = np.arange(round((end - start) * RATE)) / RATE
        samples[round(start * RATE) : round(start * RATE) + len(t)] += 0.5 * np.sin(
            2 * np.pi * 4000 * t
        )
    return samples


def test_picks_the_bouts_not_the_silence():
    samples = bouts(60, [(10, 13), (40, 43.5)])
    starts = choose(samples, SnippetSelection())
    assert len(starts) == 2
    for start, (bout_start, bout_end) in zip(starts, [(10, 13), (40, 43.5)], strict=True):
        assert start / RATE <= bout_start and (start + SNIPPET) / RATE >= bout_end


def test_stops_below_the_cutoff_and_respects_the_caps():
    samples = bouts(60, [(5, 8), (20, 23), (35, 38)])
    assert len(choose(samples, SnippetSelection())) == 3
    capped = SnippetSelection(max_per_recording=2)
    assert len(choose(samples, capped)) == 2
    short = bouts(9, [(0.5, 3), (5, 8)])  # 9 s of audio: at most 3 snippets (one per 3 s)
    assert len(choose(short, SnippetSelection(cutoff=0.0))) <= 3


def test_short_recording_gives_one_padded_snippet():
    assert choose(bouts(2, [(0.5, 1.5)]), SnippetSelection()) == [0]


def test_uniform_windows_with_overlap():
    samples = bouts(20, [])
    starts = choose(samples, SnippetSelection(method="uniform", overlap=0.5))
    assert starts == list(range(0, len(samples) - SNIPPET + 1, SNIPPET // 2))


def test_vectorised_search_equals_brute_force():
    rng = np.random.default_rng(3)
    energies = rng.random(400) ** 4
    window, weights = 40, 1 - ((np.arange(40) - 19.5) / 20.5) ** 2
    expected, work = [], energies.copy()
    while len(expected) < 5:
        scores = [
            float(np.dot(work[i : i + window], weights)) for i in range(len(work) - window + 1)
        ]
        expected.append(int(np.argmax(scores)))
        work[expected[-1] : expected[-1] + window] = 0
    assert loudest_windows(energies, window, 0.0, 5) == expected


def test_block_energies():
    samples = np.arange(10, dtype=np.float32)
    np.testing.assert_allclose(block_energies(samples, 4), [0 + 1 + 4 + 9, 16 + 25 + 36 + 49])


def test_a_bout_at_the_very_end_gives_a_snippet_inside_the_audio():
    samples = bouts(
        10.0, [(8.5, 10.0)]
    )  # 220,500 samples: the last whole-block window ends past a snippet
    starts = choose(samples, SnippetSelection())
    assert starts and all(start + SNIPPET <= len(samples) for start in starts)
    assert max(starts) / RATE <= 8.5 and (max(starts) + SNIPPET) / RATE >= 9.99


def test_background_windows_are_the_quietest_and_below_the_cutoff():
    samples = bouts(60, [(5, 8), (15, 18.5)])
    samples[30 * RATE :] *= 0.1  # the last 30 s are the quietest
    energies = block_energies(samples, HOP)
    quiet = quietest_windows(len(samples), energies, SNIPPET, HOP, cutoff=0.25, count=2)
    assert len(quiet) == 2 and quiet[1] - quiet[0] >= SNIPPET  # two windows, not overlapping
    assert all(start >= 30 * RATE - HOP for start in quiet)
    loud = bouts(8, [(0, 8)])
    assert quietest_windows(len(loud), block_energies(loud, HOP), SNIPPET, HOP, 0.25, 2) == []


def dense(samples: np.ndarray, **selection) -> list[int]:
    return dense_windows(
        len(samples), block_energies(samples, HOP), SNIPPET, HOP, SnippetSelection(**selection)
    )


def test_dense_windows_overlap_over_the_loud_parts_and_skip_the_quiet_ones():
    samples = bouts(60, [(10, 20), (40, 43)])
    starts = dense(samples, train_overlap=0.75)
    assert len(starts) > len(choose(samples, SnippetSelection()))
    assert np.diff(starts).min() == round(SNIPPET * 0.25 / HOP) * HOP  # a second apart
    for start in starts:  # every window holds part of a bout
        assert any(
            start / RATE < end and (start + SNIPPET) / RATE > s for s, end in [(10, 20), (40, 43)]
        )
    assert dense(bouts(2, [(0.5, 1.5)]), train_overlap=0.5) == [0]


def test_dense_windows_over_the_cap_are_an_evenly_spaced_subset():
    samples = bouts(60, [(0, 60)])
    every = dense(samples, train_overlap=0.5)
    capped = dense(samples, train_overlap=0.5, train_max_per_recording=4)
    assert len(every) > 20 and len(capped) == 4
    assert capped[0] == every[0] and capped[-1] == every[-1] and set(capped) <= set(every)
