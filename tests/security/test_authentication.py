"""Authentication against replay and fixation: new session keys, single-use and expiring codes."""

import datetime
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.demo import DEMO_PASSWORD
from accounts.models import EmailOTPDevice, TOTPDevice
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.accounts.reauth import reauthenticate
from tests.conftest import login_patient, totp_now

pytestmark = pytest.mark.django_db

OTP_ERROR = "Code incorrect ou expiré"


def _session_key(client) -> str | None:
    cookie = client.cookies.get("sessionid")
    return cookie.value if cookie is not None and cookie.value else None


def _code(mail) -> str:
    return mail.body.split("Mon espace santé : ")[1][:6]


def _no_new_code(client, key: str) -> None:
    """Record in the session that a code left a second ago, so the page does not send (and store) a new one."""
    session = client.session
    session[key] = {**session[key], "sent_at": time.time()}
    session.save()


def _password_step(client, username: str = "camille.lefevre", url: str = "accounts:login"):
    response = client.post(reverse(url), {"identifiant": username, "password": DEMO_PASSWORD})
    assert response.status_code == 302
    return response


# --- Session keys ------------------------------------------------------------------------------------------


def test_the_session_key_changes_at_login_and_at_reauthentication(client, personas, mailoutbox):
    _password_step(client)
    client.get(reverse("accounts:login_otp"))
    before_login = _session_key(client)
    assert before_login  # the pending login lives in an anonymous session
    client.post(reverse("accounts:login_otp"), {"token": _code(mailoutbox[-1])})
    after_login = _session_key(client)
    assert after_login and after_login != before_login
    assert client.get(reverse("accounts:dashboard")).status_code == 200

    # A key someone saw before the login opens nothing.
    stale = type(client)()
    stale.cookies["sessionid"] = before_login
    assert stale.get(reverse("accounts:dashboard")).status_code == 302

    reauthenticate(client, personas.camille.user, mailoutbox)
    after_reauth = _session_key(client)
    assert after_reauth not in (before_login, after_login)
    assert client.get(reverse("accounts:contact_change")).status_code == 200
    stale.cookies["sessionid"] = after_login
    assert stale.get(reverse("accounts:dashboard")).status_code == 302


def test_the_session_key_changes_at_a_professional_login(client, personas):
    user = personas.dr_martin.user
    _password_step(client, "dr.martin", "accounts:pro_login")
    before = _session_key(client)
    client.post(reverse("accounts:pro_login_otp"), {"token": totp_now(user)})
    assert _session_key(client) not in (None, before)
    assert client.get(reverse("accounts:pro_home")).status_code == 200


# --- E-mailed codes ----------------------------------------------------------------------------------------


def test_an_emailed_login_code_is_refused_the_second_time(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    used = _code(mailoutbox[-1])
    client.post(reverse("accounts:logout"))

    # Replay in a new browser, with the right password, within the code's ten minutes. The new pending login
    # is marked as having just been sent a code, so no fresh code replaces the used one: only the
    # single-use rule can refuse it.
    other = type(client)()
    _password_step(other)
    _no_new_code(other, "pending_login")
    response = other.post(reverse("accounts:login_otp"), {"token": used})
    assert response.status_code == 200 and OTP_ERROR in response.content.decode()
    assert other.get(reverse("accounts:dashboard")).status_code == 302
    assert AuditEvent.objects.filter(action=Action.OTP_FAILED).count() == 1


def test_an_expired_emailed_login_code_is_refused(client, personas, mailoutbox):
    _password_step(client)
    client.get(reverse("accounts:login_otp"))
    code = _code(mailoutbox[-1])
    device = EmailOTPDevice.objects.get(user=personas.camille.user)
    assert device.valid_until > timezone.now()
    # Eleven minutes later, as far as the stored expiry is concerned.
    EmailOTPDevice.objects.filter(pk=device.pk).update(valid_until=timezone.now() - datetime.timedelta(minutes=1))
    response = client.post(reverse("accounts:login_otp"), {"token": code})
    assert response.status_code == 200 and OTP_ERROR in response.content.decode()
    assert client.get(reverse("accounts:dashboard")).status_code == 302


def test_a_code_that_has_not_expired_yet_still_works(client, personas, mailoutbox):
    """The expiry test above fails for the right reason: the same steps with a valid expiry log in."""
    _password_step(client)
    client.get(reverse("accounts:login_otp"))
    EmailOTPDevice.objects.filter(user=personas.camille.user).update(
        valid_until=timezone.now() + datetime.timedelta(seconds=30)
    )
    assert client.post(reverse("accounts:login_otp"), {"token": _code(mailoutbox[-1])}).status_code == 302
    assert client.get(reverse("accounts:dashboard")).status_code == 200
    assert EmailOTPDevice.objects.get(user=personas.camille.user).token_hash == ""  # spent


def test_the_password_step_expires_after_five_minutes(client, personas, mailoutbox):
    _password_step(client)
    client.get(reverse("accounts:login_otp"))
    session = client.session
    session["pending_login"] = {**session["pending_login"], "at": session["pending_login"]["at"] - 5 * 60 - 1}
    session.save()
    response = client.post(reverse("accounts:login_otp"), {"token": _code(mailoutbox[-1])})
    assert response.url == reverse("accounts:login")
    assert client.get(reverse("accounts:dashboard")).status_code == 302


def test_an_emailed_reauthentication_code_is_single_use(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    reauthenticate(client, personas.camille.user, mailoutbox)
    used = _code(mailoutbox[-1])
    url = reverse("accounts:reauthenticate")
    client.post(url, {"password": DEMO_PASSWORD})
    _no_new_code(client, "pending_reauth")
    response = client.post(url, {"token": used})
    assert response.status_code == 200 and OTP_ERROR in response.content.decode()


# --- Authenticator apps ------------------------------------------------------------------------------------


def test_a_totp_code_used_for_a_login_is_refused_on_replay(client, personas):
    sophie = personas.sophie.user
    code = totp_now(sophie)
    _password_step(client, "sophie.petit")
    assert client.post(reverse("accounts:login_otp"), {"token": code}).status_code == 302
    device = TOTPDevice.objects.get(user=sophie, confirmed=True)
    assert device.last_t >= 0  # django-otp's replay guard moved forward
    client.post(reverse("accounts:logout"))

    other = type(client)()
    _password_step(other, "sophie.petit")
    response = other.post(reverse("accounts:login_otp"), {"token": code})
    assert response.status_code == 200 and OTP_ERROR in response.content.decode()
    assert other.get(reverse("accounts:dashboard")).status_code == 302


def test_a_totp_code_of_an_earlier_step_is_refused_after_a_later_one(client, personas):
    doctor = personas.dr_martin.user
    later, earlier = totp_now(doctor, offset_steps=1), totp_now(doctor)
    _password_step(client, "dr.martin", "accounts:pro_login")
    assert client.post(reverse("accounts:pro_login_otp"), {"token": later}).status_code == 302
    client.post(reverse("accounts:logout"))
    _password_step(client, "dr.martin", "accounts:pro_login")
    response = client.post(reverse("accounts:pro_login_otp"), {"token": earlier})
    assert response.status_code == 200 and OTP_ERROR in response.content.decode()
