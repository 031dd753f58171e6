"""Measured data: readers for instrument files, the tidy CSV format, cutoffs, folder scans."""

from pulsetrain.measurements.cutoffs import CutoffRow, CutoffTable, read_cutoffs
from pulsetrain.measurements.scan import FileProblem, FolderScan, MeasuredRun, scan_folder
from pulsetrain.measurements.sweep import DOWN, UP, Cutoff, IVSweep, PulseSweep, format_seconds
from pulsetrain.measurements.tidy import read_tidy_csv
from pulsetrain.measurements.wgfmu import read_dciv, read_wgfmu_sweep

__all__ = [
    "DOWN",
    "UP",
    "Cutoff",
    "CutoffRow",
    "CutoffTable",
    "FileProblem",
    "FolderScan",
    "IVSweep",
    "MeasuredRun",
    "PulseSweep",
    "format_seconds",
    "read_cutoffs",
    "read_dciv",
    "read_tidy_csv",
    "read_wgfmu_sweep",
    "scan_folder",
]
