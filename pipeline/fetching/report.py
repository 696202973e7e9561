"""What pipeline.fetch prints of a listing: what each selection left out, what is kept, and the
recordings and minutes per species."""

from __future__ import annotations

import collections

from pipeline.fetching.api import Listed
from pipeline.fetching.selection import Filters, Skipped

# xeno-canto lists no file sizes; its mp3s are mostly 128 to 320 kbit/s.
ESTIMATE_BYTES_PER_SECOND = 128_000 / 8


def _minutes(recordings: list[Listed]) -> float:
    return sum(r.seconds or 0.0 for r in recordings) / 60


def _filter_names(filters: Filters) -> dict[str, str]:
    """What the report says of each reason a selection gives, in the selections' order."""
    length = f"{filters.max_seconds:g} s" if filters.max_seconds is not None else "any"
    return {
        "duplicate": "listed twice",
        "restricted": "restricted species, no audio given",
        "filtered_license": f"by --licenses {','.join(filters.licenses)}",
        "filtered_quality": f"by --min-quality {filters.min_quality or 'any'}",
        "filtered_length": f"by --max-length {length}",
        "filtered_per_species": f"by --max-per-species {filters.max_per_species or 'any'}",
    }


def selection_lines(
    recordings: list[Listed], skipped: list[Skipped], filters: Filters
) -> list[str]:
    """The listing, and what each selection left out (licences named)."""
    species = {r.species for r in recordings}
    lines = [f"Listed {len(recordings):,} recordings of {len(species):,} species"]
    removed = collections.Counter(s.reason for s in skipped)
    refused = collections.Counter(s.recording.license for s in skipped
                                  if s.reason == "filtered_license")  # fmt: skip
    for reason, name in _filter_names(filters).items():
        if removed[reason] or reason == "filtered_license":
            line = f"  left out {removed[reason]:,}: {name}"
            if reason == "filtered_license" and refused:
                line += (
                    " (" + ", ".join(f"{c or 'none'} {n:,}" for c, n in refused.most_common()) + ")"
                )
            if reason == "filtered_license" and any("nd" in c.split("-") for c in refused):
                line += "; ND licences forbid derivatives, and spectrograms are one"
            lines.append(line)
    return lines


def species_lines(kept: list[Listed]) -> list[str]:
    """Recordings and minutes per species, most recordings first."""
    groups = collections.defaultdict(list)
    for recording in kept:
        groups[recording.species].append(recording)
    width = max([len("species"), *map(len, groups)])
    lines = [f"  {'species':<{width}}  recordings  minutes"]
    for name, group in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        lines.append(f"  {name:<{width}}  {len(group):>10,}  {_minutes(group):>7.1f}")
    return lines


def kept_line(kept: list[Listed], present: int) -> str:
    """The selection in one line: recordings, species, minutes, an estimate of the size."""
    minutes = _minutes(kept)
    megabytes = minutes * 60 * ESTIMATE_BYTES_PER_SECOND / 1e6
    return (
        f"Selected {len(kept):,} recordings of {len({r.species for r in kept}):,} species, "
        f"{minutes:,.1f} min of audio, about {megabytes:,.0f} MB at 128 kbit/s "
        f"(xeno-canto lists no sizes); {present:,} already downloaded"
    )
