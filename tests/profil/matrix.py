"""Roles × pages rows for the profil app (run by tests/access/test_matrix.py)."""

from tests.access.rows import PATIENT_PAGE

ROWS = {
    ("profil:index", ()): PATIENT_PAGE,
}
