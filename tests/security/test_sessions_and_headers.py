"""Sessions end where they should, and every kind of response carries the security headers."""

import pytest
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from tests.conftest import login_patient
from tests.dossier.factories import make_document

pytestmark = pytest.mark.django_db


def test_logout_ends_every_session_of_the_account(client, personas, mailoutbox):
    other_device = type(client)()
    login_patient(client, "camille.lefevre", mailoutbox)
    login_patient(other_device, "camille.lefevre", mailoutbox)
    assert other_device.get(reverse("accounts:dashboard")).status_code == 200
    client.post(reverse("accounts:logout"))
    assert other_device.get(reverse("accounts:dashboard")).status_code == 302
    login_patient(other_device, "camille.lefevre", mailoutbox)  # a new login works again
    assert other_device.get(reverse("accounts:dashboard")).status_code == 200


def test_password_change_ends_the_other_sessions_but_not_this_one(client, personas, mailoutbox):
    other_device = type(client)()
    login_patient(client, "camille.lefevre", mailoutbox)
    login_patient(other_device, "camille.lefevre", mailoutbox)
    client.post(
        reverse("accounts:password_change"),
        {"old_password": DEMO_PASSWORD, "new_password1": "Tisane-Verte-42!", "new_password2": "Tisane-Verte-42!"},
    )
    assert client.get(reverse("accounts:dashboard")).status_code == 200
    assert other_device.get(reverse("accounts:dashboard")).status_code == 302


def _assert_security_headers(response, *, personal: bool) -> None:
    csp = response.get("Content-Security-Policy", "")
    assert "object-src 'none'" in csp or "sandbox" in csp, response
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.get("X-Frame-Options") == "DENY" or "frame-ancestors 'none'" in csp or "sandbox" in csp
    assert "Server" not in response
    if personal:
        assert "no-store" in response["Cache-Control"]


def test_every_response_class_carries_the_headers(client, login_as, personas):
    _assert_security_headers(client.get(reverse("home")), personal=False)
    _assert_security_headers(client.get("/page-qui-n-existe-pas/"), personal=False)
    _assert_security_headers(client.get(reverse("health")), personal=False)
    login_as(client, "camille")
    html = client.get(reverse("dossier:index"))
    _assert_security_headers(html, personal=True)
    assert "frame-ancestors 'none'" in html["Content-Security-Policy"]
    assert "nonce-" in html["Content-Security-Policy"]
    document = make_document(personas.camille)
    download = client.get(reverse("dossier:document_download", args=[document.public_id]))
    _assert_security_headers(download, personal=True)
    assert download["Content-Disposition"].startswith("attachment;")
    missing = client.get(reverse("dossier:document_detail", args=["6f1c2b9e-0000-4000-8000-000000000000"]))
    assert missing.status_code == 404
    _assert_security_headers(missing, personal=True)


def test_health_endpoint_reports_each_dependency(client):
    response = client.get(reverse("health"))
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"database": True, "cache": True, "storage": True, "keys": True},
    }


def test_health_endpoint_answers_503_when_a_dependency_fails(client, settings):
    settings.DATA_ENCRYPTION_KEYS = "other:" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWY="
    response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["checks"]["keys"] is False
