"""Algorithms over the store port: lineage, impact, cascade, provenance, root cause."""
