"""The phone channel in the agents' admin: opposition after checking code, NIR and card; new code sent."""

import pytest
from django.urls import reverse

from activation import codes
from activation.enums import SpaceStatus
from activation.models import HealthSpace, Opposition, ProvisionalCode
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.activation.conftest import SERIAL
from tests.conftest import agent_finds, login_agent

pytestmark = pytest.mark.django_db


def _oppose(client, patient, code, **overrides):
    data = {"code": codes.display(code), "nir": patient.nir, "card_type": "avec_photo", "serial": SERIAL, **overrides}
    return client.post(reverse("admin:patient_opposition", args=[patient.pk]), data)


def test_agent_records_a_phone_opposition_and_downloads_the_receipt(
    client, personas, informed, django_capture_on_commit_callbacks
):
    patient, code = informed()
    login_agent(client, personas.agent_cpam.user)
    agent_finds(client, patient)
    wrong = _oppose(client, patient, code, serial="80250000020000000001")
    assert "ne correspondent pas" in wrong.content.decode()
    assert not Opposition.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = _oppose(client, patient, code)
    assert response.status_code == 302
    opposition = Opposition.objects.get(space__patient=patient)
    assert opposition.channel == "phone" and opposition.recorded_by == personas.agent_cpam.user
    assert HealthSpace.objects.get(patient=patient).status == SpaceStatus.OPPOSED
    # A double click finds the code used: one outcome only.
    again = _oppose(client, patient, code)
    assert "ne correspondent pas" in again.content.decode()
    assert Opposition.objects.count() == 1

    page = client.get(reverse("admin:accounts_patient_change", args=[patient.pk])).content.decode()
    assert opposition.reference in page
    pdf = client.get(reverse("admin:patient_opposition_receipt", args=[opposition.public_id]))
    assert pdf["Content-Type"] == "application/pdf"
    event = AuditEvent.objects.get(action=Action.OPPOSITION_RECORDED, patient=patient)
    assert event.public_actor_label == "Un conseiller de l’Assurance Maladie"


def test_agent_sends_a_new_code_to_the_contact_on_file(
    client, personas, informed, mailoutbox, django_capture_on_commit_callbacks
):
    patient, old_code = informed()
    login_agent(client, personas.agent_france_services.user)
    agent_finds(client, patient)
    url = reverse("admin:patient_new_code", args=[patient.pk])
    page = client.get(url).content.decode()
    assert old_code not in page
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"confirm": "on"})
    assert mailoutbox[-1].to == [patient.email]
    assert "Code provisoire : " in mailoutbox[-1].body
    assert ProvisionalCode.objects.filter(patient=patient, voided_at__isnull=True).count() == 1
    assert AuditEvent.objects.filter(action=Action.CODE_ISSUED, patient=patient, actor_role="agent").exists()


def test_professionals_and_patients_cannot_reach_agent_actions(client, login_as, personas, informed):
    patient, _ = informed()
    login_as(client, "dr_martin")
    response = client.get(reverse("admin:patient_opposition", args=[patient.pk]))
    assert response.status_code == 302 and "/admin/login/" in response.url
