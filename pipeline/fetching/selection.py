"""Which listed recordings to download, in this order: one per recording id, audio available,
licence, quality, length, then at most N per species (best quality first, then longest)."""

from __future__ import annotations

import collections
import dataclasses

from pipeline.fetching.api import QUALITIES, Listed

# Every non-ND licence: a spectrogram dataset is a derivative work, which ND licences forbid.
DEFAULT_LICENSES = ("by", "by-sa", "by-nc", "by-nc-sa", "cc0")
ALL_LICENSES = "all"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Filters:
    """The selections: licences kept (ALL_LICENSES: any), lowest quality kept ("": any), longest
    length in seconds (None: any), recordings per species (0: any)."""

    licenses: tuple[str, ...] = DEFAULT_LICENSES
    min_quality: str = ""
    max_seconds: float | None = None
    max_per_species: int = 0


@dataclasses.dataclass(frozen=True)
class Skipped:
    """A listed recording left out, with its reason (duplicate, restricted, filtered_license,
    filtered_quality, filtered_length, filtered_per_species) and a sentence."""

    recording: Listed
    reason: str
    detail: str


def quality_rank(quality: str) -> int:
    """0 for A (best) to 4 for E; 5 when not rated."""
    return QUALITIES.index(quality) if quality else len(QUALITIES)


def _license_refusal(code: str, licenses: tuple[str, ...]) -> str:
    if ALL_LICENSES in licenses or code in licenses:
        return ""
    if "nd" in code.split("-"):
        return (f"licence {code} forbids derivatives, and a spectrogram dataset is one "
                f"(--licenses {','.join((*licenses, code))} keeps it)")  # fmt: skip
    return f"licence {code or '(none)'} not in --licenses {','.join(licenses)}"


def _refusal(recording: Listed, filters: Filters, seen: set[str]) -> tuple[str, str]:
    """(reason, detail) of the first selection that leaves `recording` out, else ("", "")."""
    if recording.recording_id in seen:
        return "duplicate", f"recording {recording.recording_id} listed twice"
    if not recording.download_url:
        return "restricted", "xeno-canto gives no audio file (restricted species)"
    refusal = _license_refusal(recording.license, filters.licenses)
    if refusal:
        return "filtered_license", refusal
    if filters.min_quality and quality_rank(recording.quality) > quality_rank(filters.min_quality):
        return "filtered_quality", (
            f"quality {recording.quality or 'not rated'} below --min-quality {filters.min_quality}"
        )
    seconds = recording.seconds
    if filters.max_seconds is not None and seconds is not None and seconds > filters.max_seconds:
        return (
            "filtered_length",
            f"{seconds:.0f} s longer than --max-length {filters.max_seconds:g} s",
        )
    return "", ""


def best_first(recording: Listed) -> tuple[int, float, int]:
    """Sort key of --max-per-species: best quality, then longest, then oldest (lowest id)."""
    number = int(recording.recording_id) if recording.recording_id.isdigit() else 0
    return quality_rank(recording.quality), -(recording.seconds or 0.0), number


def select(recordings: list[Listed], filters: Filters) -> tuple[list[Listed], list[Skipped]]:
    """(recordings to download in the listing's order, those left out with their reasons)."""
    passed, skipped, seen = [], [], set()
    for recording in recordings:
        reason, detail = _refusal(recording, filters, seen)
        seen.add(recording.recording_id)
        if reason:
            skipped.append(Skipped(recording, reason, detail))
        else:
            passed.append(recording)
    if not filters.max_per_species:
        return passed, skipped
    by_species = collections.defaultdict(list)
    for recording in passed:
        by_species[recording.species].append(recording)
    capped = set()
    for group in by_species.values():
        for recording in sorted(group, key=best_first)[filters.max_per_species :]:
            capped.add(recording.recording_id)
            skipped.append(Skipped(recording, "filtered_per_species", (
                f"{recording.species!r} has more than --max-per-species {filters.max_per_species} "
                "(best quality first, then longest)")))  # fmt: skip
    return [r for r in passed if r.recording_id not in capped], skipped
