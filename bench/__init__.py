"""Benchmarks of the registry import, the information campaign and e-mail rendering: see README.md."""
