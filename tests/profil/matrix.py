"""Roles × pages rows for the profil app (run by tests/access/test_matrix.py)."""

from tests.access.rows import PATIENT_PAGE, PATIENT_POST, PRO_OBJECT, UNKNOWN, row

SECTION = (("section", "allergies"),)
ENTRY = (("section", "allergies"), *UNKNOWN)
OWN_OBJECT = row(anonymous=302, patient=404, pro=403, agent=403)

ROWS = {
    ("profil:index", ()): PATIENT_PAGE,
    ("profil:section", SECTION): PATIENT_PAGE,
    ("profil:entry_add", SECTION): PATIENT_PAGE,
    ("profil:not_concerned", SECTION): PATIENT_POST,
    ("profil:entry_edit", ENTRY): OWN_OBJECT,
    ("profil:entry_delete", ENTRY): OWN_OBJECT,
    ("profil:measures", ()): PATIENT_PAGE,
    ("profil:measure_delete", UNKNOWN): PATIENT_POST,
    ("profil:professionals", ()): PATIENT_PAGE,
    ("profil:professional_remove", UNKNOWN): PATIENT_POST,
    ("profil:organ_donation", ()): PATIENT_PAGE,
    ("profil:directives", ()): PATIENT_PAGE,
    ("profil:synthesis", ()): PATIENT_PAGE,
    ("pro_profil", UNKNOWN): PRO_OBJECT,
}
