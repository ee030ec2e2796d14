"""What every benchmark module gets: sizes, the Neo4j URI and a place to report figures.

A figure is reported with the baseline it is compared against, measured in the
same run, so the ratio means something on any machine; targets are shown next
to the figure and never asserted.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class Figure:
    """One reported figure."""

    bench: str
    name: str
    value: float
    unit: str
    baseline: float | None = None
    baseline_name: str | None = None
    target: str | None = None
    size: int | None = None
    store: str | None = None

    @property
    def ratio(self) -> float | None:
        """value / baseline, when there is a baseline."""
        if self.baseline in (None, 0):
            return None
        assert self.baseline is not None
        return self.value / self.baseline


@dataclass
class BenchContext:
    """Passed to every ``bench_*.run``."""

    sizes: list[int]
    neo4j_uri: str | None
    workdir: Path
    quick: bool = False
    figures: list[Figure] = field(default_factory=list)
    current: str = ""

    def report(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        baseline: float | None = None,
        baseline_name: str | None = None,
        target: str | None = None,
        size: int | None = None,
        store: str | None = None,
    ) -> Figure:
        """Record a figure and print it at once."""
        figure = Figure(
            self.current, name, value, unit, baseline, baseline_name, target, size, store
        )
        self.figures.append(figure)
        print(format_figure(figure), flush=True)
        return figure

    def save(self, path: Path) -> None:
        """Write every figure as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        payload: list[dict[str, Any]] = [{**asdict(f), "ratio": f.ratio} for f in self.figures]
        path.write_text(json.dumps(payload, indent=2))


def format_figure(figure: Figure) -> str:
    """One line: what, where, how much, against what, and the target."""
    where = " ".join(
        part
        for part in (
            figure.store and f"[{figure.store}]",
            figure.size and f"n={figure.size:,}",
        )
        if part
    )
    text = f"  {figure.name:<48} {where:<22} {figure.value:>12,.3f} {figure.unit}"
    if figure.ratio is not None:
        text += f"  ({figure.ratio:.2f}x {figure.baseline_name or 'baseline'})"
    if figure.target:
        text += f"  target {figure.target}"
    return text


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds one call takes, and its result."""
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p95 of some samples."""
    ordered = sorted(samples)
    p50 = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return p50, p95
