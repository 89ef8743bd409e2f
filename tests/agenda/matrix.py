"""Roles × pages rows for the agenda app (run by tests/access/test_matrix.py)."""

from tests.access.rows import PATIENT_PAGE

ROWS = {
    ("agenda:index", ()): PATIENT_PAGE,
}
