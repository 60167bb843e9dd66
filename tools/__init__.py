"""Build tools run from the repository (``./dev``), not installed with drwlab."""
