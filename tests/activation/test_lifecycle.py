"""Closure, reopening, deletion within three months, ten-year purge, and children managed from an account."""

import datetime
import io

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from accounts.demo import DEMO_PASSWORD
from activation.enums import SpaceStatus
from activation.models import ARCHIVE_RETENTION, HealthSpace, Opposition
from activation.services.spaces import archives_purge
from dossier.models import MedicalRecord
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.accounts.reauth import mark_recently_authenticated, reauthenticate
from tests.conftest import login_patient

pytestmark = pytest.mark.django_db


def _close(client, *, delete: bool, reauthenticated: bool = True):
    if reauthenticated:
        mark_recently_authenticated(client)
    data = {"confirm": "on"}
    if delete:
        data["delete_data"] = "on"
    return client.post(reverse("activation:close"), data)


def test_close_requires_a_recent_reauthentication_then_archives(
    client, personas, mailoutbox, django_capture_on_commit_callbacks
):
    login_patient(client, "camille.lefevre", mailoutbox)
    refused = _close(client, delete=False, reauthenticated=False)
    assert refused.url == f"{reverse('accounts:reauthenticate')}?next={reverse('activation:close')}"
    assert HealthSpace.objects.get(patient=personas.camille).status == SpaceStatus.ACTIVE

    reauthenticate(client, personas.camille.user, mailoutbox, next_url=reverse("activation:close"))
    with django_capture_on_commit_callbacks(execute=True):
        response = _close(client, delete=False, reauthenticated=False)
    assert response.url == reverse("activation:closed")
    space = HealthSpace.objects.get(patient=personas.camille)
    assert space.status == SpaceStatus.CLOSED and space.deletion_requested_at is None
    # Every patient page now leads to the closure page; nothing else of the space is reachable.
    assert client.get(reverse("accounts:dashboard")).url == reverse("activation:closed")
    page = client.get(reverse("activation:closed")).content.decode()
    assert "archivées jusqu’au" in page
    closure = space.closures.get()
    pdf = client.get(reverse("activation:closure_receipt", args=[closure.public_id]))
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert closure.reference in text and "R.1111-36" in text


def test_reopen_restores_the_archive(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    _close(client, delete=False)
    response = client.post(reverse("activation:closed"), {"password": DEMO_PASSWORD})
    assert response.url == reverse("accounts:dashboard")
    assert HealthSpace.objects.get(patient=personas.camille).status == SpaceStatus.ACTIVE
    assert MedicalRecord.objects.filter(patient=personas.camille).exists()
    assert client.get(reverse("accounts:dashboard")).status_code == 200


def test_deletion_request_is_carried_out_by_the_operator_command(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    _close(client, delete=True)
    assert HealthSpace.objects.get(patient=personas.camille).deletion_requested_at is not None
    out = io.StringIO()
    call_command("traiter_suppressions", stdout=out)
    assert out.getvalue().startswith("1 ")
    space = HealthSpace.objects.get(patient=personas.camille)
    assert space.status == SpaceStatus.DELETED
    assert not MedicalRecord.objects.filter(patient=personas.camille).exists()
    personas.camille.user.refresh_from_db()
    assert not personas.camille.user.is_active
    # The trace of who did what stays.
    assert AuditEvent.objects.filter(patient=personas.camille, action=Action.SPACE_STATUS_CHANGED).count() == 2
    call_command("traiter_suppressions", stdout=io.StringIO())  # idempotent
    assert HealthSpace.objects.get(patient=personas.camille).status == SpaceStatus.DELETED


def test_reopening_cancels_a_pending_deletion(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    _close(client, delete=True)
    client.post(reverse("activation:closed"), {"password": DEMO_PASSWORD})
    call_command("traiter_suppressions", stdout=io.StringIO())
    space = HealthSpace.objects.get(patient=personas.camille)
    assert space.status == SpaceStatus.ACTIVE and space.deletion_requested_at is None


def test_archives_are_purged_ten_years_after_closure_not_before(personas):
    space = HealthSpace.objects.get(patient=personas.camille)
    closed_at = timezone.now() - ARCHIVE_RETENTION
    HealthSpace.objects.filter(pk=space.pk).update(status=SpaceStatus.CLOSED, closed_at=closed_at)
    assert archives_purge(now=closed_at + ARCHIVE_RETENTION - datetime.timedelta(seconds=1)) == 0
    assert archives_purge(now=closed_at + ARCHIVE_RETENTION) == 1
    assert HealthSpace.objects.get(pk=space.pk).status == SpaceStatus.DELETED


def test_an_active_space_cannot_be_opposed_only_closed(personas):
    from activation.enums import OppositionChannel
    from activation.services.enrolment import opposition_record
    from activation.services.spaces import InvalidTransition
    from espace_sante.access.actor import Actor

    with pytest.raises(InvalidTransition):
        opposition_record(patient=personas.camille, channel=OppositionChannel.PHONE, by=Actor.anonymous(), code=None)


def test_parent_activates_one_child_and_opposes_for_another(
    client, personas, mailoutbox, django_capture_on_commit_callbacks
):
    HealthSpace.objects.filter(patient=personas.leo).update(status=SpaceStatus.INFORMED)
    login_patient(client, "julien.moreau", mailoutbox)
    page = client.get(reverse("activation:children")).content.decode()
    assert "Emma Moreau" in page and "Léo Moreau" in page

    client.post(reverse("activation:child_activate", args=[personas.emma.public_id]))
    assert HealthSpace.objects.get(patient=personas.emma).status == SpaceStatus.ACTIVE
    assert MedicalRecord.objects.filter(patient=personas.emma).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("activation:child_oppose", args=[personas.leo.public_id]))
    assert HealthSpace.objects.get(patient=personas.leo).status == SpaceStatus.OPPOSED
    opposition = Opposition.objects.get(space__patient=personas.leo)
    pdf = client.get(reverse("activation:opposition_receipt", args=[opposition.public_id]))
    assert pdf.status_code == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Léo" in text and "Julien Pierre Moreau" in text
    # Emma now appears in the profile switcher; Léo no longer does.
    client.get(reverse("activation:children"))  # shows (and consumes) the confirmation messages
    dashboard = client.get(reverse("accounts:dashboard")).content.decode()
    assert "Emma Moreau" in dashboard and "Léo Moreau" not in dashboard


def test_a_patient_cannot_decide_for_a_child_not_attached_to_their_card(client, personas, mailoutbox):
    login_patient(client, "camille.lefevre", mailoutbox)
    response = client.post(reverse("activation:child_activate", args=[personas.emma.public_id]))
    assert response.status_code == 404
    assert HealthSpace.objects.get(patient=personas.emma).status == SpaceStatus.INFORMED
