"""Re-authentication before sensitive changes, and the contacts page it guards."""

import time

import pytest
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import EmailOTPDevice, Patient, TOTPDevice, User
from espace_sante.access.decorators import SESSION_REAUTHENTICATED_AT
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from espace_sante.outbox.models import OutboxMessage
from tests.accounts.reauth import mark_recently_authenticated, reauthenticate
from tests.conftest import login_patient, login_with_totp, totp_now

pytestmark = pytest.mark.django_db

REAUTH = "accounts:reauthenticate"
GUARDED = ("accounts:contact_change", "accounts:totp_setup", "activation:close")


def _code(mail) -> str:
    return mail.body.split("Mon espace santé : ")[1][:6]


@pytest.mark.parametrize("name", GUARDED)
def test_guarded_pages_send_to_the_reauthentication_page_and_back(client, personas, mailoutbox, name):
    login_patient(client, "camille.lefevre", mailoutbox)
    target = reverse(name)
    response = client.get(target)
    assert response.status_code == 302
    assert response.url == f"{reverse(REAUTH)}?next={target}"
    # Logging in is not enough: a POST is refused the same way and changes nothing.
    assert client.post(target, {"confirm": "on", "email": "x@example.org"}).url.startswith(reverse(REAUTH))
    assert Patient.objects.get(pk=personas.camille.pk).space.status == "active"

    reauthenticate(client, personas.camille.user, mailoutbox, next_url=target)
    assert client.get(target).status_code == 200


def test_reauthentication_needs_the_password_then_a_fresh_emailed_code(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    login_code = _code(mailoutbox[-1])
    url = f"{reverse(REAUTH)}?next={reverse('accounts:contact_change')}"

    page = client.get(url).content.decode()
    assert 'name="password"' in page and 'name="token"' not in page
    # The code step cannot be reached without the password.
    assert "Mot de passe incorrect." in client.post(url, {"password": "Pas-le-bon-1!"}).content.decode()
    assert 'name="token"' not in client.get(url).content.decode()
    assert AuditEvent.objects.filter(action=Action.REAUTHENTICATION_FAILED).count() == 1

    sent = len(mailoutbox)
    assert client.post(url, {"password": DEMO_PASSWORD}).url == url
    page = client.get(url).content.decode()
    assert 'name="token"' in page and "c•••@example.org" in page
    assert len(mailoutbox) == sent + 1 and mailoutbox[-1].to == ["camille.lefevre@example.org"]
    # The login's code was used once already; a wrong code and the old one are both refused.
    for token in (login_code, f"{(int(_code(mailoutbox[-1])) + 1) % 1_000_000:06d}"):
        EmailOTPDevice.objects.filter(user=personas.camille.user).update(throttling_failure_count=0)
        response = client.post(url, {"token": token})
        assert response.status_code == 200 and "Code incorrect ou expiré" in response.content.decode()
    assert client.get(reverse("accounts:contact_change")).status_code == 302

    EmailOTPDevice.objects.filter(user=personas.camille.user).update(throttling_failure_count=0)
    old_key = client.cookies["sessionid"].value
    response = client.post(url, {"token": _code(mailoutbox[-1])})
    assert response.url == reverse("accounts:contact_change")
    assert client.cookies["sessionid"].value != old_key  # new session key
    assert client.get(reverse("accounts:contact_change")).status_code == 200
    event = AuditEvent.objects.get(action=Action.REAUTHENTICATED)
    assert event.patient_id == personas.camille.pk


def test_reauthentication_with_an_authenticator_app(client, personas):
    sophie = personas.sophie.user
    login_with_totp(client, sophie, portal="patient")
    url = reverse(REAUTH)
    client.post(url, {"password": DEMO_PASSWORD})
    page = client.get(url).content.decode()
    assert "application d’authentification" in page
    # The code that opened the session cannot be played again (same or earlier time step).
    assert "Code incorrect ou expiré" in client.post(url, {"token": totp_now(sophie)}).content.decode()
    TOTPDevice.objects.filter(user=sophie).update(last_t=-1, throttling_failure_count=0)
    assert client.post(url, {"token": totp_now(sophie)}).url == reverse("accounts:settings")
    assert client.get(reverse("accounts:totp_setup")).status_code == 200


def test_the_confirmation_lasts_ten_minutes(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    reauthenticate(client, personas.camille.user, mailoutbox)
    assert client.get(reverse("accounts:contact_change")).status_code == 200
    session = client.session
    session[SESSION_REAUTHENTICATED_AT] = time.time() - 10 * 60 - 5
    session.save()
    assert client.get(reverse("accounts:contact_change")).url.startswith(reverse(REAUTH))
    session[SESSION_REAUTHENTICATED_AT] = time.time() - 9 * 60
    session.save()
    assert client.get(reverse("accounts:contact_change")).status_code == 200


def test_a_new_login_does_not_carry_an_old_confirmation(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    reauthenticate(client, personas.camille.user, mailoutbox)
    client.post(reverse("accounts:logout"))
    login_patient(client, "camille.lefevre", mailoutbox)
    assert client.get(reverse("accounts:contact_change")).url.startswith(reverse(REAUTH))


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "javascript:alert(1)"])
def test_unsafe_next_falls_back_to_the_settings(client, personas, mailoutbox, next_url):
    login_patient(client, "camille.lefevre", mailoutbox)
    url = reverse(REAUTH)
    client.post(url, {"password": DEMO_PASSWORD}, QUERY_STRING=f"next={next_url}")
    client.get(url, QUERY_STRING=f"next={next_url}")
    response = client.post(url, {"token": _code(mailoutbox[-1])}, QUERY_STRING=f"next={next_url}")
    assert response.url == reverse("accounts:settings")


def test_wrong_passwords_are_throttled_like_the_login(client, personas, mailoutbox, settings):
    login_patient(client, "camille.lefevre", mailoutbox)
    url = reverse(REAUTH)
    for _ in range(settings.LOGIN_THROTTLE["free_attempts"]):
        client.post(url, {"password": "Pas-le-bon-1!"})
    response = client.post(url, {"password": DEMO_PASSWORD})
    assert "Trop de tentatives de connexion" in response.content.decode()
    assert 'name="token"' not in client.get(url).content.decode()


def test_professionals_and_agents_never_reach_the_page(client, personas):
    login_with_totp(client, personas.dr_martin.user, portal="pro")
    assert client.get(reverse(REAUTH)).status_code == 403
    assert client.get(reverse("accounts:contact_change")).status_code == 403


# --- Contacts ----------------------------------------------------------------------------------------------


def test_phone_change_is_stored_and_the_address_on_file_is_told(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    mark_recently_authenticated(client)
    url = reverse("accounts:contact_change")
    bad = client.post(url, {"email": "camille.lefevre@example.org", "phone": "01 23"})
    assert "numéro de mobile français" in bad.content.decode()
    response = client.post(url, {"email": "camille.lefevre@example.org", "phone": "07 65 43 21 09"})
    assert response.url == reverse("accounts:settings")
    assert Patient.objects.get(pk=personas.camille.pk).phone == "0765432109"
    notice = OutboxMessage.objects.get(recipient="camille.lefevre@example.org")
    assert "0765432109" not in notice.body and "modifiées" in notice.body
    assert AuditEvent.objects.filter(action=Action.CONTACTS_UPDATED, data__fields=["phone"]).count() == 1
    assert "0765432109" in client.get(reverse("accounts:settings")).content.decode()


def test_new_email_is_used_only_once_confirmed_by_a_code_sent_to_it(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    mark_recently_authenticated(client)
    old, new = "camille.lefevre@example.org", "camille.nouvelle@example.net"
    response = client.post(reverse("accounts:contact_change"), {"email": new, "phone": ""})
    assert response.url == reverse("accounts:email_confirm")
    code_mail = mailoutbox[-1]
    assert code_mail.to == [new]
    code = _code(code_mail)
    assert code not in str(dict(client.session))  # only a keyed hash is kept
    # Nothing changed yet: logins still send their code to the old address.
    assert User.objects.get(pk=personas.camille.user.pk).email == old
    assert not OutboxMessage.objects.exists()

    wrong = client.post(reverse("accounts:email_confirm"), {"token": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert "Code incorrect ou expiré" in wrong.content.decode()
    assert client.post(reverse("accounts:email_confirm"), {"token": code}).url == reverse("accounts:settings")
    assert User.objects.get(pk=personas.camille.user.pk).email == new
    assert Patient.objects.get(pk=personas.camille.pk).email == new
    notice = OutboxMessage.objects.get()
    assert notice.recipient == old and new not in notice.body and new not in notice.subject
    # Single use.
    assert client.post(reverse("accounts:email_confirm"), {"token": code}).url == reverse("accounts:contact_change")
    assert AuditEvent.objects.filter(action=Action.EMAIL_CHANGE_REQUESTED).count() == 1
    assert AuditEvent.objects.filter(action=Action.CONTACTS_UPDATED, data__fields=["email"]).count() == 1


def test_email_change_gives_up_after_five_wrong_codes(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    mark_recently_authenticated(client)
    client.post(reverse("accounts:contact_change"), {"email": "autre@example.net", "phone": ""})
    code = _code(mailoutbox[-1])
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(4):
        assert client.post(reverse("accounts:email_confirm"), {"token": wrong}).status_code == 200
    assert client.post(reverse("accounts:email_confirm"), {"token": wrong}).url == reverse("accounts:contact_change")
    assert client.post(reverse("accounts:email_confirm"), {"token": code}).url == reverse("accounts:contact_change")
    assert User.objects.get(pk=personas.camille.user.pk).email == "camille.lefevre@example.org"


def test_email_change_code_expires(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    mark_recently_authenticated(client)
    client.post(reverse("accounts:contact_change"), {"email": "autre@example.net", "phone": ""})
    code = _code(mailoutbox[-1])
    session = client.session
    session["email_change"] = {**session["email_change"], "until": time.time() - 1}
    session.save()
    assert client.post(reverse("accounts:email_confirm"), {"token": code}).url == reverse("accounts:contact_change")
    assert User.objects.get(pk=personas.camille.user.pk).email == "camille.lefevre@example.org"


def test_settings_link_to_the_contacts_page(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    assert reverse("accounts:contact_change") in client.get(reverse("accounts:settings")).content.decode()
