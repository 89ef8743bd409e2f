"""The agents' back-office (issue 9): lookup, actions with least rights, supervisors' lists, no medical data."""

import datetime

import pytest
from django.contrib import admin
from django.urls import reverse

from activation.enums import SpaceStatus
from activation.models import HealthSpace, ProvisionalCode
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.conftest import agent_finds, login_agent

pytestmark = pytest.mark.django_db
MEDICAL_APPS = {"dossier", "profil", "messagerie", "agenda", "audit", "crypto", "outbox"}


def test_no_medical_model_is_registered_in_the_admin():
    registered = {model._meta.app_label for model in admin.site._registry}
    assert registered & MEDICAL_APPS == set()


def test_every_admin_page_is_safe_for_agents(client, personas):
    """Enumerate the admin's list pages: agents see only administrative models, and no document title leaks."""
    from tests.dossier.factories import make_document

    make_document(personas.camille, title="Compte rendu très confidentiel")
    login_agent(client, personas.agent_cpam.user)
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url)
        assert response.status_code in (200, 403), url
        assert "très confidentiel" not in response.content.decode()
    agent_finds(client, personas.camille)
    page = client.get(reverse("admin:accounts_patient_change", args=[personas.camille.pk])).content.decode()
    assert "très confidentiel" not in page and "Compte rendu" not in page


@pytest.mark.parametrize(
    "term", ["285037505612306", "camille.lefevre@example.org", "Lefèvre 14/03/1985", "LEFÈVRE 14/03/1985"]
)
def test_agent_finds_a_person_by_nir_email_or_name_and_birth_date(client, personas, term):
    login_agent(client, personas.agent_france_services.user)
    page = client.get(reverse("admin:accounts_patient_changelist"), {"q": term}).content.decode()
    assert "Camille Marie" in page and "Moreau" not in page


def test_contacts_update_needs_a_note_waits_for_the_person_and_is_traced(client, personas, informed, mailoutbox):
    """Issue 15: the typed contacts wait for the person's confirmation (tests/security/test_agent_takeover.py);
    once the code read back by the person is typed, they replace the old ones and unused codes die."""
    patient, _ = informed()
    login_agent(client, personas.agent_france_services.user)
    agent_finds(client, patient)
    url = reverse("admin:patient_contacts", args=[patient.pk])
    missing_note = client.post(url, {"email": "nouvelle@example.org", "phone": "0611223344"})
    assert "Ce champ est obligatoire" in missing_note.content.decode()
    client.post(
        url, {"email": "nouvelle@example.org", "phone": "0611223344", "check_note": "Carte d’identité au guichet"}
    )
    patient.refresh_from_db()
    assert patient.email == "jeanne.martin@example.org"
    event = AuditEvent.objects.get(action=Action.CONTACTS_CHANGE_REQUESTED, patient=patient)
    assert event.public_actor_label == "Un conseiller de l’Assurance Maladie"
    assert event.data["check"] == "Carte d’identité au guichet"

    confirm = reverse("admin:patient_contacts_confirm", args=[patient.pk])
    client.post(confirm, {"send": "email"})
    assert mailoutbox[-1].to == ["jeanne.martin@example.org"]
    code = mailoutbox[-1].body.split("confirmer la modification : ")[1][:6]
    client.post(confirm, {"confirm": "1", "token": code})
    patient.refresh_from_db()
    assert patient.email == "nouvelle@example.org"
    assert not ProvisionalCode.objects.filter(patient=patient, voided_at__isnull=True).exists()
    event = AuditEvent.objects.get(action=Action.CONTACTS_UPDATED, patient=patient)
    assert event.public_actor_label == "Un conseiller de l’Assurance Maladie"


def test_france_services_cannot_close_but_cpam_can_and_the_person_sees_it(client, login_as, personas):
    login_agent(client, personas.agent_france_services.user)
    assert client.get(reverse("admin:patient_close", args=[personas.camille.pk])).status_code == 403
    cpam = type(client)()
    login_agent(cpam, personas.agent_cpam.user)
    agent_finds(cpam, personas.camille)
    url = reverse("admin:patient_close", args=[personas.camille.pk])
    cpam.post(url, {"confirm": "on", "delete_data": "on"})
    space = HealthSpace.objects.get(patient=personas.camille)
    assert space.status == SpaceStatus.CLOSED and space.deletion_requested_at is not None
    # A double click: one outcome, a clear message.
    again = cpam.post(url, {"confirm": "on"})
    assert "n’est plus possible" in again.content.decode()
    cpam.post(reverse("admin:patient_reopen", args=[personas.camille.pk]), {"confirm": "on"})
    assert HealthSpace.objects.get(patient=personas.camille).status == SpaceStatus.ACTIVE
    labels = set(
        AuditEvent.objects.filter(patient=personas.camille, actor_role="agent").values_list("actor_label", flat=True)
    )
    assert labels and all("Benali" in label for label in labels)


def test_death_closes_the_space_and_disables_the_login(client, personas):
    login_agent(client, personas.agent_cpam.user)
    agent_finds(client, personas.julien)
    url = reverse("admin:patient_death", args=[personas.julien.pk])
    future = client.post(url, {"confirm": "on", "died_on": "01/01/2999"})
    assert "ne peut pas être dans le futur" in future.content.decode()
    client.post(url, {"confirm": "on", "died_on": "01/11/2026"})
    personas.julien.refresh_from_db()
    assert personas.julien.deceased_on == datetime.date(2026, 11, 1)
    assert HealthSpace.objects.get(patient=personas.julien).status == SpaceStatus.CLOSED
    personas.julien.user.refresh_from_db()
    assert not personas.julien.user.is_active
    assert AuditEvent.objects.filter(action=Action.DEATH_RECORDED, patient=personas.julien).exists()


def test_agent_helps_a_parent_decide_for_a_child(client, personas):
    login_agent(client, personas.agent_france_services.user)
    agent_finds(client, personas.emma)
    agent_finds(client, personas.camille)
    url = reverse("admin:patient_child_profile", args=[personas.emma.pk])
    client.post(url, {"confirm": "on", "decision": "opposer"})
    assert HealthSpace.objects.get(patient=personas.emma).status == SpaceStatus.OPPOSED
    not_a_child = client.post(
        reverse("admin:patient_child_profile", args=[personas.camille.pk]), {"confirm": "on", "decision": "activer"}
    )
    assert "n’est pas rattachée" in not_a_child.content.decode()


def test_supervisor_lists_and_exports_but_counsellors_cannot_export(client, personas):
    HealthSpace.objects.filter(patient=personas.camille).update(
        status=SpaceStatus.CLOSED, deletion_requested_at=datetime.datetime(2026, 9, 1, tzinfo=datetime.UTC)
    )
    login_agent(client, personas.agent_superviseur.user)
    changelist = reverse("admin:activation_healthspace_changelist")
    page = client.get(changelist, {"suppression": "en_cours"}).content.decode()
    assert "1 déc. 2026" in page or "Dec. 1, 2026" in page or "2026-12-01" in page or "1 décembre 2026" in page
    ids = list(HealthSpace.objects.values_list("pk", flat=True))
    export = client.post(changelist, {"action": "export_csv", "_selected_action": ids})
    assert export["Content-Type"].startswith("text/csv")
    rows = export.content.decode().splitlines()
    # The supervisor works for the CPAM of Haute-Garonne: the spaces of Amiens (Somme) are not theirs.
    in_31 = HealthSpace.objects.filter(patient__postal_code__startswith="31").count()
    assert rows[0].startswith("département;état") and len(rows) == in_31 + 1 < len(ids) + 1
    assert all(row.startswith("31;") for row in rows[1:])
    assert "Lefèvre" not in export.content.decode()  # lists carry no names

    counsellor = type(client)()
    login_agent(counsellor, personas.agent_cpam.user)
    response = counsellor.post(changelist, {"action": "export_csv", "_selected_action": ids})
    assert response.status_code in (200, 302, 403)
    assert not response.get("Content-Type", "").startswith("text/csv")
