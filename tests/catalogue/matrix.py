"""Roles × pages rows for the catalogue app (run by tests/access/test_matrix.py)."""

from tests.access.rows import PATIENT_PAGE

ROWS = {
    ("catalogue:index", ()): PATIENT_PAGE,
}
