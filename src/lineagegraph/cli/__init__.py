"""The ``lineagegraph`` command line."""
