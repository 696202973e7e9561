"""A local build's progress: what the workers note, and the lines the launcher prints."""

from __future__ import annotations

import multiprocessing

from pipeline.progress import Progress, note_finished, watching


def test_progress_prints_a_line_every_few_seconds_with_rate_and_time_left():
    lines = []
    tracker = Progress(total=100, audio_seconds=7200, every=5.0, say=lines.append)
    for second in range(100):  # one recording a second
        tracker.finished(float(second))
    assert len(lines) == 20  # at 5, 10, ..., 95 s, and the last recording
    assert (
        lines[0]
        == "  6 of 100 recordings, 7 min of 2.0 h of audio, 60.0 recordings/min, about 2 min left"
    )
    assert lines[-1] == "  100 of 100 recordings, 2.0 h of 2.0 h of audio, 60.0 recordings/min"


def _finish_three(folder: str) -> None:
    for name in ("a.mp3", "b.mp3", "c.mp3"):
        note_finished(name, folder)


def test_recordings_noted_by_worker_processes_reach_the_launchers_count(tmp_path):
    lines = []
    tracker = Progress(total=6, audio_seconds=None, every=0.0, say=lines.append)
    with watching(tracker, str(tmp_path), every=0.01):
        workers = [
            multiprocessing.Process(target=_finish_three, args=(str(tmp_path),)) for _ in "ab"
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    assert lines[-1].startswith("  6 of 6 recordings, ")
    assert len(list(tmp_path.iterdir())) == 2  # one file per worker process
