"""A seeded generator of synthetic lineage graphs of realistic shape, at any size.

Datasets sit in layers (raw, staging, marts, …); each job reads one to three
datasets from lower layers and writes one or two in the next layer, with column
edges from input fields to output fields. A few hub tables are read by many
jobs, a few jobs read and write the same table, and a few write back into a
lower layer, so the graph has fan-in, fan-out, hubs and cycles. About 1 in 8
nodes is a dataset, 6 in 8 are fields and 1 in 8 is a job; edges come to
roughly three per node.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lineagegraph.ids import Kind, make_id
from lineagegraph.model import ChangeSet, Dataset, EdgeKind, Field, Job, Origin

NAMESPACE = "synthetic://warehouse"
FIELDS_PER_DATASET = 6
LAYERS = 8
SEEN_AT = datetime(2026, 1, 1, tzinfo=UTC)


def dataset_id(index: int) -> str:
    """The id of synthetic dataset ``index``."""
    return make_id(Kind.DATASET, NAMESPACE, f"table_{index:07d}")


def field_id(index: int, column: int) -> str:
    """The id of column ``column`` of synthetic dataset ``index``."""
    return make_id(Kind.FIELD, NAMESPACE, f"table_{index:07d}", f"col_{column}")


def job_id(index: int) -> str:
    """The id of synthetic job ``index``."""
    return make_id(Kind.JOB, NAMESPACE, f"job_{index:07d}")


@dataclass
class SyntheticGraph:
    """A synthetic graph of about ``nodes`` nodes, identical for the same seed."""

    nodes: int
    seed: int = 0
    batch_size: int = 20_000
    datasets: int = field(init=False)
    jobs: int = field(init=False)
    hubs: list[int] = field(init=False)

    def __post_init__(self) -> None:
        per_dataset = 1 + FIELDS_PER_DATASET + 1  # the dataset, its fields, about one job
        self.datasets = max(LAYERS * 2, self.nodes // per_dataset)
        self.jobs = self.datasets - self.datasets // LAYERS  # every non-raw dataset has a writer
        rng = random.Random(self.seed)
        first_layer = self.datasets // LAYERS
        self.hubs = sorted(rng.sample(range(first_layer), k=min(5, first_layer)))

    def layer_of(self, dataset: int) -> int:
        """The layer a dataset sits in (0 = raw)."""
        return min(LAYERS - 1, dataset * LAYERS // self.datasets)

    @property
    def hub_id(self) -> str:
        """The id of the most connected hub table."""
        return dataset_id(self.hubs[0])

    @property
    def typical_id(self) -> str:
        """The id of an ordinary table in the middle layers (modest downstream)."""
        return dataset_id(self.datasets * 5 // LAYERS + 1)

    def changesets(self) -> Iterator[ChangeSet]:
        """The graph as changesets of about ``batch_size`` items, datasets first."""
        cs = ChangeSet(origin=Origin.INFERRED)
        for index in range(self.datasets):
            cs.add(
                Dataset(
                    namespace=NAMESPACE,
                    name=f"table_{index:07d}",
                    owners=[f"team-{index % 17}"],
                    tags=[f"layer{self.layer_of(index)}"],
                )
            )
            for column in range(FIELDS_PER_DATASET):
                cs.add(
                    Field(
                        namespace=NAMESPACE,
                        name=f"table_{index:07d}",
                        path=f"col_{column}",
                        type="string" if column % 2 else "bigint",
                        ordinal=column,
                    )
                )
                cs.link(dataset_id(index), EdgeKind.HAS_FIELD, field_id(index, column), SEEN_AT)
            if cs.size >= self.batch_size:
                yield cs
                cs = ChangeSet(origin=Origin.INFERRED)
        rng = random.Random(self.seed + 1)
        first_layer = self.datasets // LAYERS
        for job in range(self.jobs):
            output = first_layer + job
            cs.add(Job(namespace=NAMESPACE, name=f"job_{job:07d}", job_type="BATCH"))
            for source in self._inputs(rng, output):
                cs.link(dataset_id(source), EdgeKind.READS, job_id(job), SEEN_AT)
                for column in range(FIELDS_PER_DATASET):
                    targets = set()
                    if rng.random() < 0.8:
                        targets.add(column)
                    if rng.random() < 0.4:
                        targets.add(rng.randrange(FIELDS_PER_DATASET))
                    for target in sorted(targets):
                        cs.link(
                            field_id(source, column),
                            EdgeKind.DERIVES,
                            field_id(output, target),
                            SEEN_AT,
                            {"job": job_id(job)},
                        )
            cs.link(job_id(job), EdgeKind.WRITES, dataset_id(output), SEEN_AT)
            if rng.random() < 0.002:  # writes back into a lower layer: a cycle
                cs.link(job_id(job), EdgeKind.WRITES, dataset_id(rng.randrange(output)), SEEN_AT)
            if cs.size >= self.batch_size:
                yield cs
                cs = ChangeSet(origin=Origin.INFERRED)
        if not cs.is_empty():
            yield cs

    def _inputs(self, rng: random.Random, output: int) -> list[int]:
        layer = self.layer_of(output)
        low = (layer - 1) * self.datasets // LAYERS
        high = layer * self.datasets // LAYERS
        inputs = {rng.randrange(max(0, low), max(1, high))}
        for _ in range(rng.choice((0, 1, 1, 2))):
            inputs.add(rng.randrange(0, max(1, high)))
        if rng.random() < 0.1:
            inputs.add(rng.choice(self.hubs))
        if rng.random() < 0.003:  # reads the table it writes: a self-loop through the job
            inputs.add(output)
        return sorted(inputs)
