"""Roles × pages rows for the agenda app (run by tests/access/test_matrix.py)."""

from tests.access.rows import PATIENT_PAGE, PATIENT_POST, UNKNOWN, row

ENTRY = row(anonymous=302, patient=404, pro=403, agent=403)  # unknown entry: 404 for the patient side too
EVERYONE_404 = row(anonymous=404, patient=404, pro=404, agent=404)

ROWS = {
    ("agenda:index", ()): PATIENT_PAGE,
    ("agenda:month", ()): PATIENT_PAGE,
    ("agenda:week", ()): PATIENT_PAGE,
    ("agenda:appointment_create", ()): PATIENT_PAGE,
    ("agenda:reminder_create", ()): PATIENT_PAGE,
    ("agenda:entry_detail", UNKNOWN): ENTRY,
    ("agenda:entry_edit", UNKNOWN): ENTRY,
    ("agenda:entry_cancel", UNKNOWN): PATIENT_POST,
    ("agenda:entry_delete", UNKNOWN): ENTRY,
    ("agenda:entry_ics", UNKNOWN): ENTRY,
    ("agenda:export_ics", ()): PATIENT_PAGE,
    ("agenda:settings", ()): PATIENT_PAGE,
    ("agenda:feed_renew", ()): PATIENT_POST,
    ("agenda:feed_revoke", ()): PATIENT_POST,
    ("agenda:feed", (("token", "jeton-inconnu"),)): EVERYONE_404,  # reachable without login; unknown token
    ("agenda:prevention", ()): PATIENT_PAGE,
    ("agenda:prevention_item", (("patient_id", UNKNOWN[0][1]), ("code", "vaccins-2-mois"))): ENTRY,
}
