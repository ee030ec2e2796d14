"""Algorithms written once against the store port: lineage, impact, cascade, provenance, root cause."""
