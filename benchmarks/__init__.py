"""Benchmarks of drf-twostep against plain DRF (``make bench``; see docs/performance.md)."""
