"""Roles × pages: every named URL, for anonymous visitors and each persona.

A new URL without a row here fails `test_every_url_has_a_row`. 302 for anonymous means "sent to a login
page"; 403 means a role that may never enter the section; agents never get a patient page.
"""

import importlib

import pytest
from django.urls import get_resolver, reverse

from tests.access.rows import (
    AGENTS,
    PATIENT_PAGE,
    PATIENT_POST,
    PERSONAS,
    PRO_OBJECT,
    PRO_PAGE,
    PUBLIC,
    UNKNOWN,
    row,
)

APP_MATRICES = ("dossier", "profil", "messagerie", "agenda", "catalogue", "activation", "accounts")


def _app_rows() -> dict:
    rows = {}
    for app in APP_MATRICES:
        try:
            module = importlib.import_module(f"tests.{app}.matrix")
        except ModuleNotFoundError:
            continue
        rows.update(module.ROWS)
    return rows


# (url name, kwargs) → expected status per persona, for GET.
MATRIX: dict[tuple[str, tuple], dict[str, int]] = {
    ("home", ()): row(anonymous=200, patient=302, pro=200, agent=200),
    ("activation:start", ()): PUBLIC,
    ("health", ()): PUBLIC,
    ("accounts:login", ()): row(anonymous=200, patient=302, pro=302, agent=302),
    ("accounts:login_otp", ()): row(anonymous=302, patient=302, pro=302, agent=302),
    ("accounts:pro_login", ()): row(anonymous=200, patient=302, pro=302, agent=302),
    ("accounts:pro_login_otp", ()): row(anonymous=302, patient=302, pro=302, agent=302),
    ("accounts:logout", ()): row(anonymous=405, patient=405, pro=405, agent=405),
    ("accounts:password_reset", ()): PUBLIC,
    ("accounts:password_reset_done", ()): PUBLIC,
    ("accounts:password_reset_confirm", (("uidb64", "MQ"), ("token", "bad-token"))): PUBLIC,
    ("accounts:password_reset_complete", ()): PUBLIC,
    ("accounts:dashboard", ()): PATIENT_PAGE,
    ("accounts:settings", ()): PATIENT_PAGE,
    ("accounts:password_change", ()): PATIENT_PAGE,
    ("accounts:password_change_done", ()): row(anonymous=302, patient=302, pro=403, agent=403),
    ("accounts:totp_setup", ()): PATIENT_PAGE,
    ("accounts:switch_profile", ()): row(anonymous=302, patient=405, pro=403, agent=403),
    ("accounts:pro_home", ()): row(anonymous=302, patient=403, pro=200, agent=403),
    ("dossier:index", ()): PATIENT_PAGE,
    ("activation:choice", ()): row(anonymous=302, patient=302, pro=302, agent=302),
    ("activation:activate", ()): row(anonymous=302, patient=302, pro=302, agent=302),
    ("activation:activate_verify", ()): row(anonymous=302, patient=302, pro=302, agent=302),
    ("activation:oppose", ()): row(anonymous=302, patient=302, pro=302, agent=302),
    ("activation:opposition_done", UNKNOWN): row(anonymous=404, patient=404, pro=404, agent=404),
    ("activation:opposition_receipt", UNKNOWN): row(anonymous=404, patient=404, pro=404, agent=404),
    ("activation:new_code", ()): PUBLIC,
    ("activation:close", ()): PATIENT_PAGE,
    ("activation:closed", ()): row(anonymous=302, patient=403, pro=403, agent=403),
    ("activation:closure_receipt", UNKNOWN): row(anonymous=302, patient=404, pro=404, agent=404),
    ("activation:children", ()): PATIENT_PAGE,
    ("activation:child_activate", UNKNOWN): row(anonymous=302, patient=405, pro=403, agent=403),
    ("activation:child_oppose", UNKNOWN): row(anonymous=302, patient=405, pro=403, agent=403),
    ("dossier:upload", ()): PATIENT_PAGE,
    ("dossier:settings", ()): PATIENT_PAGE,
    ("dossier:care_team", ()): PATIENT_PAGE,
    ("dossier:access_history", ()): PATIENT_PAGE,
    ("dossier:history_of_care", ()): PATIENT_PAGE,
    ("dossier:care_team_block", ()): PATIENT_POST,
    ("dossier:care_team_administrator", ()): PATIENT_POST,
    ("dossier:document_detail", UNKNOWN): row(anonymous=302, patient=404, pro=403, agent=403),
    ("dossier:document_rename", UNKNOWN): row(anonymous=302, patient=404, pro=403, agent=403),
    ("dossier:document_delete", UNKNOWN): row(anonymous=302, patient=404, pro=403, agent=403),
    ("dossier:document_preview", UNKNOWN): row(anonymous=302, patient=404, pro=404, agent=404),
    ("dossier:document_download", UNKNOWN): row(anonymous=302, patient=404, pro=404, agent=404),
    ("dossier:document_hide", UNKNOWN): PATIENT_POST,
    ("dossier:document_share", UNKNOWN): PATIENT_POST,
    ("dossier:share_revoke", UNKNOWN): PATIENT_POST,
    ("pro_search", ()): PRO_PAGE,
    ("pro_record", UNKNOWN): PRO_OBJECT,
    ("pro_access_request", UNKNOWN): PRO_OBJECT,
    ("pro_add_document", UNKNOWN): PRO_OBJECT,
    ("pro_document", UNKNOWN): PRO_OBJECT,
    ("pro_consent", UNKNOWN): row(anonymous=302, patient=403, pro=405, agent=403),
    ("pro_emergency", UNKNOWN): row(anonymous=302, patient=403, pro=405, agent=403),
    ("share_open", (("token", "jeton-inconnu"),)): row(anonymous=404, patient=404, pro=404, agent=404),
    ("share_file", (("token", "jeton-inconnu"),)): row(anonymous=404, patient=404, pro=404, agent=404),
    ("admin:index", ()): row(anonymous=302, patient=302, pro=302, agent=200),
    **_app_rows(),
}

CASES = [
    (name, kwargs, persona, expected[persona]) for (name, kwargs), expected in MATRIX.items() for persona in PERSONAS
]


@pytest.mark.parametrize(("name", "kwargs", "persona", "status"), CASES, ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_page_answers_each_role(client, session_as, name, kwargs, persona, status):
    session_as(client, persona)
    response = client.get(reverse(name, kwargs=dict(kwargs)))
    assert response.status_code == status
    if persona in AGENTS and name.split(":")[0] in {"dossier", "profil", "messagerie", "agenda", "catalogue"}:
        assert "profil de" not in response.content.decode()


def _project_url_names() -> set[str]:
    names = set()

    def walk(patterns, namespace=""):
        for pattern in patterns:
            if hasattr(pattern, "url_patterns"):
                ns = pattern.namespace or ""
                if ns == "admin":
                    continue  # the admin is enumerated by its own test (agents' back-office)
                walk(pattern.url_patterns, f"{namespace}{ns}:" if ns else namespace)
            elif pattern.name:
                names.add(f"{namespace}{pattern.name}")

    walk(get_resolver().url_patterns)
    return names


def test_fast_sessions_match_real_logins(client, login_as, session_as):
    """The matrix uses session_as for speed; it must grant exactly what the real two-step login grants."""
    for persona in PERSONAS[1:]:
        real, fast = type(client)(), type(client)()
        login_as(real, persona)
        session_as(fast, persona)
        for name in ("accounts:dashboard", "accounts:pro_home", "admin:index"):
            assert real.get(reverse(name)).status_code == fast.get(reverse(name)).status_code, (persona, name)


def test_every_url_has_a_row():
    covered = {name for name, _ in MATRIX}
    assert _project_url_names() - covered == set()
