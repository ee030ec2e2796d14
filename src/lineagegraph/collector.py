"""Pausing Python's cyclic garbage collector around allocation-heavy work.

A cascade, an ingest batch or loading the embedded store allocates hundreds of
thousands of short-lived, acyclic objects. Each collection they trigger scans
every object alive — with the embedded store's graph in memory, millions — and
such collections took as long as the work itself. Whatever the work leaves
behind is collected as usual once the collector runs again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused"]


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic collector for the ``with`` block (nesting is safe)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
