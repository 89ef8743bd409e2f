"""Roles × pages rows for the messagerie app (run by tests/access/test_matrix.py)."""

from tests.access.rows import PATIENT_PAGE

ROWS = {
    ("messagerie:index", ()): PATIENT_PAGE,
}
