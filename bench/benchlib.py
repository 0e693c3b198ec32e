"""What the benchmark scripts share: page sizes, the rate-limit floor, and peak memory per stretch of code."""

from __future__ import annotations

import math
import re
import resource
from collections.abc import Mapping
from pathlib import Path

from syncengine.connectors.ratelimit import default_limits

# The documented maximum page size of each system's contact listing (what the connectors ask for).
PAGE = {"apollo": 100, "leadconnector": 500, "corporatemerch": 50}


def limit_floor(calls: Mapping[str, int], system: str) -> float:
    """Seconds the documented rate limits alone impose on ``calls`` (endpoint -> requests sent).

    Per budget window (the engine's own numbers, ``syncengine.connectors.ratelimit``: Apollo 200 a
    minute, 600 an hour and 6,000 a day per endpoint; LeadConnector 100 per 10 s; CorporateMerch
    40 a minute), the calls beyond the first window's budget spread at the documented rate: the
    first window is free, every further full or partial budget costs one window length. Apollo
    counts each endpoint apart, so its endpoints' floors overlap; the binding window decides.
    """
    spec = default_limits(system)
    buckets = list(calls.values()) if spec.per_endpoint else [sum(calls.values())]
    return max(
        (max(0, math.ceil(n / w.limit) - 1) * w.seconds for n in buckets for w in spec.windows if w.limit),
        default=0.0,
    )


class PeakMemory:
    """Peak resident memory (MB) of this process over a stretch of code, and over its whole life.

    Linux resets the high-water mark (``VmHWM``) when ``5`` is written to ``/proc/self/clear_refs``;
    that is what makes a peak per phase measurable. Elsewhere every stretch reports the process's
    peak so far (``ru_maxrss``), which only ever grows; ``per_stretch`` says which one you get.
    """

    _HWM = re.compile(r"VmHWM:\s+(\d+) kB")

    def __init__(self) -> None:
        self.overall = 0.0
        self.per_stretch = self._clear()

    def start(self) -> None:
        """Begin a stretch: from here on, ``read`` reports the peak since this call."""
        self.overall = max(self.overall, self._now_peak())
        self._clear()

    def read(self) -> float:
        peak = self._now_peak()
        self.overall = max(self.overall, peak)
        return round(peak, 1)

    def _now_peak(self) -> float:
        try:
            match = self._HWM.search(Path("/proc/self/status").read_text())
        except OSError:
            match = None
        if match:
            return int(match.group(1)) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    @staticmethod
    def _clear() -> bool:
        try:
            Path("/proc/self/clear_refs").write_text("5")
        except OSError:
            return False
        return True
