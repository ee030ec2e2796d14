"""lineagegraph: lineage and impact analysis for data and ML teams."""

__version__ = "0.1.0"
