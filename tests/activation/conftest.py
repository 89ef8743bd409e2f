"""Activation fixtures live in tests/conftest.py (shared with the security tests)."""

from tests.conftest import SERIAL

__all__ = ["SERIAL"]
