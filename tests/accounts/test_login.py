"""The two-step login of patients and professionals, as people meet it."""

import pytest
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.conftest import login_patient, totp_now

pytestmark = pytest.mark.django_db


def _code_from(mail) -> str:
    return mail.body.split("connexion à Mon espace santé : ")[1][:6]


def test_patient_logs_in_with_password_then_emailed_code(client, personas, mailoutbox):
    response = client.post(reverse("accounts:login"), {"identifiant": "Camille.Lefevre", "password": DEMO_PASSWORD})
    assert response.url == reverse("accounts:login_otp")
    # Password alone opens nothing.
    assert client.get(reverse("accounts:dashboard")).status_code == 302

    page = client.get(reverse("accounts:login_otp"))
    assert "c•••@example.org" in page.content.decode()
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["camille.lefevre@example.org"]
    code = _code_from(mailoutbox[0])
    assert code not in str(list(User.objects.values()))  # never stored in clear

    response = client.post(reverse("accounts:login_otp"), {"token": code})
    assert response.url == reverse("accounts:dashboard")
    dashboard = client.get(reverse("accounts:dashboard"))
    assert dashboard.status_code == 200
    assert "Bonjour Camille" in dashboard.content.decode()
    assert AuditEvent.objects.filter(action=Action.LOGIN_SUCCEEDED, patient=personas.camille).count() == 1


def test_emailed_code_cannot_be_replayed(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    code = _code_from(mailoutbox[-1])
    client.post(reverse("accounts:logout"))
    client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD})
    response = client.post(reverse("accounts:login_otp"), {"token": code})
    assert response.status_code == 200
    assert "Code incorrect ou expiré" in response.content.decode()
    assert client.get(reverse("accounts:dashboard")).status_code == 302


def test_wrong_password_and_unknown_identifiant_get_the_same_answer(client, personas):
    wrong = client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": "Nope-123456!"})
    unknown = client.post(reverse("accounts:login"), {"identifiant": "personne.inconnue", "password": "Nope-123456!"})
    for response in (wrong, unknown):
        assert response.status_code == 200
        assert "Identifiant ou mot de passe incorrect." in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.LOGIN_FAILED).count() == 2


def test_repeated_failures_slow_down_the_identifiant_without_revealing_it_exists(client, personas, settings):
    for _ in range(settings.LOGIN_THROTTLE["free_attempts"]):
        client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": "Nope-123456!"})
    # Even the right password is refused while the delay runs, with a French message.
    response = client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD})
    assert "Trop de tentatives de connexion" in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.LOGIN_THROTTLED).exists()
    # An unknown identifiant is throttled the same way.
    for _ in range(settings.LOGIN_THROTTLE["free_attempts"] + 1):
        response = client.post(reverse("accounts:login"), {"identifiant": "nobody.here", "password": "x"})
    assert "Trop de tentatives de connexion" in response.content.decode()


def test_disabled_account_gets_the_generic_message(client, personas):
    User.objects.filter(username="camille.lefevre").update(is_active=False)
    response = client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD})
    assert "Identifiant ou mot de passe incorrect." in response.content.decode()


def test_professional_needs_totp_and_lands_on_pro_home(client, personas):
    user = personas.dr_martin.user
    response = client.post(reverse("accounts:pro_login"), {"identifiant": "dr.martin", "password": DEMO_PASSWORD})
    assert response.url == reverse("accounts:pro_login_otp")
    assert client.get(reverse("accounts:pro_home")).status_code == 302
    bad = client.post(reverse("accounts:pro_login_otp"), {"token": "000000"})
    assert "Code incorrect ou expiré" in bad.content.decode()
    assert AuditEvent.objects.filter(action=Action.OTP_FAILED, actor_user=user).exists()


def test_professional_totp_login_and_replay_is_refused(client, personas):
    user = personas.dr_martin.user
    client.post(reverse("accounts:pro_login"), {"identifiant": "dr.martin", "password": DEMO_PASSWORD})
    from accounts.models import TOTPDevice

    TOTPDevice.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)
    code = totp_now(user)
    response = client.post(reverse("accounts:pro_login_otp"), {"token": code})
    assert response.url == reverse("accounts:pro_home")
    assert "10003456786" in client.get(reverse("accounts:pro_home")).content.decode()

    other = type(client)()
    other.post(reverse("accounts:pro_login"), {"identifiant": "dr.martin", "password": DEMO_PASSWORD})
    replay = other.post(reverse("accounts:pro_login_otp"), {"token": code})
    assert replay.status_code == 200  # the same code twice is refused


@pytest.mark.parametrize(
    ("username", "url"),
    [("dr.martin", "accounts:login"), ("camille.lefevre", "accounts:pro_login"), ("agent.cpam", "accounts:login")],
)
def test_accounts_cannot_use_another_portal(client, personas, username, url):
    response = client.post(reverse(url), {"identifiant": username, "password": DEMO_PASSWORD})
    assert response.status_code == 200
    assert "Identifiant ou mot de passe incorrect." in response.content.decode()


def test_session_key_changes_at_login_and_logout_ends_it(client, personas, mailoutbox):
    client.get(reverse("accounts:login"))
    client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD})
    before = client.session.session_key
    client.get(reverse("accounts:login_otp"))
    client.post(reverse("accounts:login_otp"), {"token": _code_from(mailoutbox[-1])})
    assert client.session.session_key != before
    client.post(reverse("accounts:logout"))
    assert client.get(reverse("accounts:dashboard")).status_code == 302
    assert AuditEvent.objects.filter(action=Action.LOGOUT).count() == 1


def test_absolute_session_lifetime_logs_out(client, personas, mailoutbox, settings):
    login_patient(client, "camille.lefevre", mailoutbox)
    settings.SESSION_ABSOLUTE_SECONDS = -1
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.SESSION_EXPIRED).exists()
