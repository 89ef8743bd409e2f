"""The access log: append-only, outlives accounts, names who acted for whom."""

import pytest
from django.urls import reverse

from accounts.demo import DEMO_PASSWORD
from espace_sante.access.actor import Actor
from espace_sante.audit import log
from espace_sante.audit.actions import Action, ActorRole
from espace_sante.audit.models import AuditEvent
from tests.conftest import login_patient

pytestmark = pytest.mark.django_db


def test_events_cannot_be_changed_or_deleted(personas):
    event = log.record(Action.LOGOUT, actor=Actor.for_user(personas.camille.user, verified=True))
    event.actor_label = "quelqu’un d’autre"
    with pytest.raises(RuntimeError):
        event.save()
    with pytest.raises(RuntimeError):
        event.delete()


def test_events_outlive_the_account_and_keep_the_label_as_it_was(personas):
    user = personas.kine_bernard.user
    log.record(Action.LOGOUT, actor=Actor.for_user(user, verified=True))
    user.first_name = "Lucienne"
    user.save()
    event = AuditEvent.objects.get(action=Action.LOGOUT)
    assert event.actor_label == "Lucie Bernard, masseur-kinésithérapeute"


def test_a_parent_acting_for_a_child_is_recorded_as_such(client, personas, mailoutbox):
    login_patient(client, "julien.moreau", mailoutbox)
    client.post(reverse("accounts:switch_profile"), {"profile": str(personas.leo.public_id)})
    client.post(reverse("accounts:logout"))
    event = AuditEvent.objects.get(action=Action.LOGOUT)
    assert event.acting_for_id == personas.leo.pk
    assert event.actor_label == "Julien Moreau (représentant légal)"


def test_events_of_one_request_share_a_request_id_and_the_client_address(client, personas, mailoutbox):
    client.post(
        reverse("accounts:login"),
        {"identifiant": "camille.lefevre", "password": DEMO_PASSWORD},
        REMOTE_ADDR="203.0.113.9",
    )
    client.get(reverse("accounts:login_otp"), REMOTE_ADDR="203.0.113.9")
    sent = AuditEvent.objects.get(action=Action.OTP_SENT)
    assert sent.ip_address == "203.0.113.9"
    assert sent.request_id is not None


def test_agents_are_shown_to_patients_without_their_name(personas):
    event = log.record(
        Action.ACCESS_DENIED, actor=Actor.for_user(personas.agent_cpam.user, verified=True), patient=personas.camille
    )
    assert event.actor_role == ActorRole.AGENT
    assert "Benali" in event.actor_label
    assert event.public_actor_label == "Un conseiller de l’Assurance Maladie"


def test_failed_logins_record_no_password(client, personas):
    client.post(reverse("accounts:login"), {"identifiant": "camille.lefevre", "password": "Secret-Mot-9!"})
    assert "Secret-Mot-9!" not in str(list(AuditEvent.objects.values()))
