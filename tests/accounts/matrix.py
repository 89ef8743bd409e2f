"""Roles × pages rows for the account pages guarded by a recent re-authentication.

The matrix signs in with `session_as`, which records no re-authentication: patients are sent to the
re-authentication page (302) from every guarded page, which is what a person meets after logging in.
These rows override the generic PATIENT_PAGE rows of tests/access/test_matrix.py for the two pages that
gained the guard (`accounts:totp_setup`, `activation:close`).
"""

from tests.access.rows import PATIENT_PAGE, PUBLIC, row

RECENT_AUTH_PAGE = row(anonymous=302, patient=302, pro=403, agent=403)

ROWS = {
    ("accounts:reauthenticate", ()): PATIENT_PAGE,
    ("accounts:contact_change", ()): RECENT_AUTH_PAGE,
    ("accounts:email_confirm", ()): RECENT_AUTH_PAGE,
    ("accounts:totp_setup", ()): RECENT_AUTH_PAGE,
    ("activation:close", ()): RECENT_AUTH_PAGE,
    # The link sent to contacts an agent typed (issue 15): public, answers "no longer valid" to a bad token.
    ("accounts:contact_change_link", (("public_id", "00000000-0000-4000-8000-000000000000"), ("token", "x"))): PUBLIC,
}
