"""Run the benchmarks: ``python -m bench [--sizes 100000,1000000] [--only store,engine] [--quick]``.

Sizes default to ``BENCH_SIZES`` from the environment, else the sizes the
targets are stated for. Figures print as they are measured and are saved to
``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import tempfile
import time
from pathlib import Path

from bench.common import BenchContext


def main(argv: list[str] | None = None) -> int:
    """Discover ``bench/bench_*.py`` modules and run each one's ``run(ctx)``."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--sizes",
        default=os.environ.get("BENCH_SIZES", "100000,1000000"),
        help="comma-separated synthetic graph sizes in nodes",
    )
    parser.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""), help="modules to run")
    parser.add_argument("--quick", action="store_true", help="small sizes, few repetitions")
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if args.quick:
        sizes = [min(s, 20_000) for s in sizes[:1]]
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    here = Path(__file__).parent
    with tempfile.TemporaryDirectory(prefix="lineagegraph-bench-") as workdir:
        ctx = BenchContext(
            sizes=sizes,
            neo4j_uri=os.environ.get("LINEAGEGRAPH_TEST_NEO4J_URI"),
            workdir=Path(workdir),
            quick=args.quick,
        )
        failures = 0
        for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda m: m.name):
            if not info.name.startswith("bench_"):
                continue
            area = info.name.removeprefix("bench_")
            if only and area not in only:
                continue
            print(f"\n== {area} ==", flush=True)
            ctx.current = area
            module = importlib.import_module(f"bench.{info.name}")
            started = time.perf_counter()
            try:
                module.run(ctx)
            except Exception as error:  # one failing bench must not hide the others' figures
                failures += 1
                print(f"  FAILED: {type(error).__name__}: {error}", flush=True)
            print(f"  ({time.perf_counter() - started:.1f} s)", flush=True)
        ctx.save(here / "results" / "latest.json")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
