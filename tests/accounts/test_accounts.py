"""Passwords, password reset, profile switching for legal representatives, and the agents' admin login."""

import re

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from accounts.models import User
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from espace_sante.outbox.models import OutboxMessage
from tests.conftest import login_agent, login_patient, totp_now

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("Court-1!", "au moins 9 caractères"),
        ("sansmajuscule-12", "une majuscule"),
        ("SANSMINUSCULE-12", "une minuscule"),
        ("SansChiffre-abc", "un chiffre"),
        ("SansSpecial123", "un caractère spécial"),
        ("Camille-2026!x", "ni votre nom ni votre prénom"),
        ("Lefevre-2026!x", "ni votre nom ni votre prénom"),
    ],
)
def test_password_rules_speak_french(personas, password, message):
    user = personas.camille.user
    with pytest.raises(ValidationError) as error:
        validate_password(password, user)
    text = " ".join(error.value.messages)
    assert message.split(" ")[-1] in text or message in text


def test_a_strong_password_is_accepted(personas):
    validate_password("Tisane-Verte-42!", personas.camille.user)


def test_password_reset_by_email_then_login_with_the_new_password(
    client, personas, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": "camille.lefevre@example.org"})
    assert response.url == reverse("accounts:password_reset_done")
    assert mailoutbox[0].to == ["camille.lefevre@example.org"]
    assert OutboxMessage.objects.get().body is None  # sent through the outbox, then wiped
    link = re.search(r"http://testserver(/mot-de-passe/nouveau/\S+)", mailoutbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert "Choisir un nouveau mot de passe" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "faible", "new_password2": "faible"})
    assert "au minimum 9 caractères" in weak.content.decode()
    done = client.post(set_url, {"new_password1": "Tisane-Verte-42!", "new_password2": "Tisane-Verte-42!"})
    assert done.url == reverse("accounts:password_reset_complete")
    assert User.objects.get(username="camille.lefevre").check_password("Tisane-Verte-42!")
    assert AuditEvent.objects.filter(action=Action.PASSWORD_CHANGED).count() == 1
    # The link served once; it is dead now.
    assert "n’est plus valable" in client.get(link, follow=True).content.decode()


def test_password_reset_answers_the_same_for_unknown_addresses(client, personas, mailoutbox):
    response = client.post(reverse("accounts:password_reset"), {"email": "inconnu@example.org"})
    assert response.url == reverse("accounts:password_reset_done")
    assert mailoutbox == [] and not OutboxMessage.objects.exists()


def test_agents_cannot_reset_their_password_from_the_portal(client, personas, mailoutbox):
    client.post(reverse("accounts:password_reset"), {"email": "agent.cpam@assurance-maladie.example"})
    assert mailoutbox == [] and not OutboxMessage.objects.exists()


def test_parent_switches_to_a_child_profile_and_back(client, personas, mailoutbox):
    login_patient(client, "julien.moreau", mailoutbox)
    dashboard = client.get(reverse("accounts:dashboard")).content.decode()
    assert "Léo Moreau" in dashboard
    assert "Emma Moreau" not in dashboard  # her space waits for her father's choice

    response = client.post(reverse("accounts:switch_profile"), {"profile": str(personas.leo.public_id)})
    assert response.url == reverse("accounts:dashboard")
    page = client.get(reverse("accounts:dashboard")).content.decode()
    assert "Vous agissez pour le profil de <strong>Léo Moreau</strong>" in page
    event = AuditEvent.objects.get(action=Action.PROFILE_SWITCHED)
    assert event.patient_id == personas.leo.pk

    client.post(reverse("accounts:switch_profile"), {"profile": str(personas.julien.public_id)})
    assert (
        "Vous agissez pour le profil de <strong>Julien Moreau</strong>"
        in client.get(reverse("accounts:dashboard")).content.decode()
    )


def test_a_patient_cannot_switch_to_someone_they_do_not_represent(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    response = client.post(reverse("accounts:switch_profile"), {"profile": str(personas.leo.public_id)})
    assert response.status_code == 404
    assert "Léo" not in response.content.decode()
    assert not AuditEvent.objects.filter(action=Action.PROFILE_SWITCHED).exists()


def test_an_ended_representation_falls_back_to_ones_own_profile(client, personas, mailoutbox):
    import datetime

    login_patient(client, "julien.moreau", mailoutbox)
    client.post(reverse("accounts:switch_profile"), {"profile": str(personas.leo.public_id)})
    personas.leo.representatives.update(ended_on=datetime.date(2000, 1, 1))
    page = client.get(reverse("accounts:dashboard")).content.decode()
    assert "Vous agissez pour le profil de <strong>Julien Moreau</strong>" in page


def test_tutor_acts_for_the_protected_adult(client, login_as, personas):
    login_as(client, "sophie")
    client.post(reverse("accounts:switch_profile"), {"profile": str(personas.bernard.public_id)})
    assert "Bernard Petit" in client.get(reverse("accounts:settings")).content.decode()


def test_agent_logs_into_admin_with_totp(client, personas):
    login_agent(client, personas.agent_cpam.user)
    assert client.get(reverse("admin:index")).status_code == 200
    assert AuditEvent.objects.filter(action=Action.LOGIN_SUCCEEDED, actor_role="agent").exists()


def test_agent_admin_login_refuses_a_wrong_code_and_non_agents(client, personas):
    agent = personas.agent_cpam.user
    response = client.post(
        reverse("admin:login"), {"username": agent.username, "password": DEMO_PASSWORD, "otp_token": "000000"}
    )
    assert "Identifiant, mot de passe ou code incorrect." in response.content.decode()
    assert AuditEvent.objects.filter(action=Action.OTP_FAILED, actor_user=agent).exists()
    doctor = personas.dr_martin.user
    response = client.post(
        reverse("admin:login"),
        {"username": doctor.username, "password": DEMO_PASSWORD, "otp_token": totp_now(doctor)},
    )
    assert "Identifiant, mot de passe ou code incorrect." in response.content.decode()
    assert client.get(reverse("admin:index")).status_code == 302


def test_agent_admin_shows_no_medical_section(client, personas):
    login_agent(client, personas.agent_cpam.user)
    page = client.get(reverse("admin:index")).content.decode()
    for section in ("Dossier médical", "Profil médical", "Messagerie", "Agenda"):
        assert section not in page


def test_patient_enrols_an_authenticator_app_which_then_replaces_the_email_code(client, personas, mailoutbox):
    from django_otp.oath import TOTP

    from accounts.models import TOTPDevice
    from tests.accounts.reauth import reauthenticate
    from tests.conftest import login_with_totp

    login_patient(client, "camille.lefevre", mailoutbox)
    # Identity first: the page sends to the re-authentication page, which sends back.
    assert client.get(reverse("accounts:totp_setup")).url.startswith(reverse("accounts:reauthenticate"))
    reauthenticate(client, personas.camille.user, mailoutbox, next_url=reverse("accounts:totp_setup"))
    page = client.get(reverse("accounts:totp_setup"))
    assert "data:image/svg+xml" in page.content.decode()
    device = TOTPDevice.objects.get(user=personas.camille.user, confirmed=False)
    code = f"{TOTP(device.bin_key).token():06d}"

    wrong_code = client.post(reverse("accounts:totp_setup"), {"token": f"{(int(code) + 1) % 1_000_000:06d}"})
    assert "Code incorrect ou expiré" in wrong_code.content.decode()
    TOTPDevice.objects.filter(pk=device.pk).update(throttling_failure_count=0)  # no back-off wait in the test
    response = client.post(reverse("accounts:totp_setup"), {"token": code})
    assert response.url == reverse("accounts:settings")
    assert AuditEvent.objects.filter(action=Action.SECOND_FACTOR_CHANGED).count() == 1

    client.post(reverse("accounts:logout"))
    sent_before = len(mailoutbox)
    device.refresh_from_db()
    TOTPDevice.objects.filter(pk=device.pk).update(last_t=-1)  # a later step, as if 30 s had passed
    login_with_totp(client, personas.camille.user, portal="patient")
    assert len(mailoutbox) == sent_before  # no e-mail code any more
    assert client.get(reverse("accounts:dashboard")).status_code == 200
