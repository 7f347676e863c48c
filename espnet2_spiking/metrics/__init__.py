"""Benchmarks: quality (PESQ, STOI, CREPE pitch, mel L1, MCD), energy, spikes, speed, pictures, report.

Submodules are imported where they are used, so that importing one measure does not load
the others' dependencies.
"""
