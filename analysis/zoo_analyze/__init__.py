"""zoo_analyze: figures, tables and scaling fits from a zoo sweep results file.

    from zoo_analyze import load, curves
    df = load("results.h5")          # summary + per-run attributes, one row per run
    c = curves("results.h5", 3)      # run 3's step/epoch curves (numpy arrays)
    s = segments("results.h5")       # per test segment accuracy and loss, one row per (run, segment)

The command `zoo-analyze results.h5 -o report/` (python3 -m zoo_analyze) writes the
report. Reads the HDF5 file only (its layout: docs/results.md); never zoo's C code.
"""
__version__ = "0.1.0"

from .results import (FAILED_STATUSES, SCHEMA, SCHEMA_VERSIONS, ZooResultsError, curves, load,  # noqa: E402
                      provenance, segments)

__all__ = ["load", "curves", "segments", "provenance", "ZooResultsError", "SCHEMA", "SCHEMA_VERSIONS",
           "FAILED_STATUSES"]
