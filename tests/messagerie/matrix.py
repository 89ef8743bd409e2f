"""Roles × pages rows for the messagerie app (run by tests/access/test_matrix.py).

Unknown ids answer like forbidden ones (404); test_access.py runs the same pages on real conversations.
"""

from tests.access.rows import PATIENT_PAGE, PATIENT_POST, PRO_OBJECT, PRO_PAGE, UNKNOWN, row

PATIENT_OBJECT = row(anonymous=302, patient=404, pro=403, agent=403)

ROWS = {
    ("messagerie:index", ()): PATIENT_PAGE,
    ("messagerie:new", ()): PATIENT_PAGE,
    ("messagerie:blocks", ()): PATIENT_PAGE,
    ("messagerie:conversation", UNKNOWN): PATIENT_OBJECT,
    ("messagerie:delete", UNKNOWN): PATIENT_OBJECT,
    ("messagerie:archive", UNKNOWN): PATIENT_POST,
    ("messagerie:attachment_save", UNKNOWN): PATIENT_POST,
    # Both sides download attachments here; the policy answers 404 to anyone but the participants.
    ("messagerie:attachment", UNKNOWN): row(anonymous=302, patient=404, pro=404, agent=404),
    ("messagerie_pro:index", ()): PRO_PAGE,
    ("messagerie_pro:search", ()): PRO_PAGE,
    ("messagerie_pro:compose", UNKNOWN): PRO_OBJECT,
    ("messagerie_pro:conversation", UNKNOWN): PRO_OBJECT,
    ("messagerie_pro:end", UNKNOWN): PRO_OBJECT,
}
