"""Connections, referencing decisions, reminders and the majority rule."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.utils import timezone
from oauth2_provider.models import AccessToken, RefreshToken

from catalogue import services
from catalogue.enums import ConnectionStatus, ServiceStatus
from catalogue.models import Connection, ServiceReport
from catalogue.tasks import connections_daily_task
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.catalogue.helpers import connect_and_get_tokens, make_service


def patient_actor(patient, acting_for=None):
    return Actor.for_user(patient.user, verified=True, acting_for_id=acting_for.pk if acting_for else None)


@pytest.fixture
def service(db):
    return make_service()


def test_connect_change_and_disconnect_are_audited(personas, service):
    camille = personas.camille
    by = patient_actor(camille)
    measures, documents = (
        service.purposes.get(label="Importer mes mesures"),
        service.purposes.get(label="Consulter mes documents"),
    )
    connection = services.connection_save(service=service, patient=camille, purposes=[measures], by=by)
    assert connection.granted_scopes() == {"measures:write"}
    services.connection_save(service=service, patient=camille, purposes=[measures, documents], by=by)
    connection.refresh_from_db()
    assert connection.granted_scopes() == {"measures:write", "documents:read"}
    assert connection.document_categories() == {"biologie"}
    assert Connection.objects.count() == 1
    services.connection_disconnect(connection=connection, by=by)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.DISCONNECTED
    actions = list(AuditEvent.objects.filter(patient=camille).values_list("action", flat=True).order_by("pk"))
    assert actions == [Action.SERVICE_CONNECTED, Action.SERVICE_PURPOSES_CHANGED, Action.SERVICE_DISCONNECTED]
    # A new connection after a disconnection is a fresh one.
    services.connection_save(service=service, patient=camille, purposes=[measures], by=by)
    assert Connection.objects.count() == 2


def test_rules_of_connection(personas, service):
    camille, julien = personas.camille, personas.julien
    other_purpose = make_service("Autre").purposes.first()
    with pytest.raises(PermissionDenied):
        services.connection_save(
            service=service, patient=julien, purposes=list(service.purposes.all()), by=patient_actor(camille)
        )
    with pytest.raises(services.NotAllowed):
        services.connection_save(service=service, patient=camille, purposes=[], by=patient_actor(camille))
    with pytest.raises(services.NotAllowed):
        services.connection_save(service=service, patient=camille, purposes=[other_purpose], by=patient_actor(camille))
    service.status = ServiceStatus.SUSPENDED
    service.save()
    with pytest.raises(services.NotAllowed):
        services.connection_save(
            service=service, patient=camille, purposes=list(service.purposes.all()), by=patient_actor(camille)
        )


def test_dereferencing_disconnects_everyone_and_tells_them(
    personas, service, client, login_as, mailoutbox, django_capture_on_commit_callbacks
):
    login_as(client, "camille")
    tokens = connect_and_get_tokens(client, Client(), service, ("Importer mes mesures",))
    julien = patient_actor(personas.julien, acting_for=personas.leo)
    services.connection_save(service=service, patient=personas.leo, purposes=list(service.purposes.all()), by=julien)
    mailoutbox.clear()
    agent = Actor.for_user(personas.agent_cpam.user, verified=True)
    with django_capture_on_commit_callbacks(execute=True):
        services.service_dereference(service=service, by=agent)
    assert not Connection.objects.live().exists()
    assert AccessToken.objects.get(scope__contains="connection:").is_expired()
    refresh = RefreshToken.objects.get(access_token__scope__contains="connection:")
    assert refresh.revoked is not None
    assert refresh.token != tokens["refresh_token"]  # stored hashed (RFC 9700 §4), never in clear
    recipients = sorted(message.to[0] for message in mailoutbox)
    assert recipients == ["camille.lefevre@example.org", "julien.moreau@example.org"]
    assert all(service.name in message.body for message in mailoutbox)
    with pytest.raises(services.NotAllowed):
        services.service_status_set(service=service, status=ServiceStatus.ONLINE, by=agent)


def test_minor_connection_waits_for_the_young_adult(personas, service):
    leo = personas.leo
    connection = services.connection_save(
        service=service,
        patient=leo,
        purposes=list(service.purposes.all()),
        by=patient_actor(personas.julien, acting_for=leo),
    )
    assert connection.made_while_minor
    assert connections_daily_task()["paused"] == 0
    leo.birth_date = timezone.localdate() - datetime.timedelta(days=365 * 18 + 10)
    leo.save()
    assert connections_daily_task()["paused"] == 1
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.REAPPROVAL


def test_reminder_every_ninety_days_once(personas, service, mailoutbox, django_capture_on_commit_callbacks):
    camille = personas.camille
    connection = services.connection_save(
        service=service, patient=camille, purposes=list(service.purposes.all()), by=patient_actor(camille)
    )
    assert services.reminders_send() == 0  # connected today: not due
    Connection.objects.filter(pk=connection.pk).update(connected_at=timezone.now() - datetime.timedelta(days=91))
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_send() == 1
        assert services.reminders_send() == 0  # same period
    assert len(mailoutbox) == 1 and service.name in mailoutbox[0].body
    later = timezone.now() + datetime.timedelta(days=91)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.reminders_send(now=later) == 1


def test_report_is_stored_and_audited(personas, service):
    by = patient_actor(personas.camille)
    services.report_create(service=service, reason="donnees", message="Il me demande trop de choses.", by=by)
    assert ServiceReport.objects.get().message == "Il me demande trop de choses."
    assert AuditEvent.objects.filter(action=Action.SERVICE_REPORTED).exists()
