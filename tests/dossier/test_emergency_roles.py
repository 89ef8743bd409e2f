"""Emergency access (L.1111-17): the SAMU's regulation is reserved to médecins régulateurs, recorded on the
professional by an operator; the form shows the patient's emergency choices before it is filled."""

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from accounts.models import Professional
from dossier.enums import DocumentCategory, EmergencyKind
from dossier.models import EmergencyAccess, MedicalRecord
from espace_sante.access.middleware import SESSION_EMERGENCIES
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.conftest import login_with_totp
from tests.dossier.factories import make_document

pytestmark = pytest.mark.django_db

REASON = "Patiente inconsciente, appel au centre 15"


def _find(client, patient):
    response = client.post(reverse("pro_search"), {"nir": patient.nir, "birth_date": patient.birth_date.isoformat()})
    assert response.status_code == 302, response.content.decode()[:1000]


def _emergency(client, patient, kind):
    return client.post(reverse("pro_emergency", args=[patient.public_id]), {"kind": kind, "reason": REASON})


def test_a_physiotherapist_cannot_be_the_samu(client, login_as, personas):
    """The reported attack: the patient refused break-glass (SAMU allowed, the default); a physiotherapist
    picks « régulation du SAMU » and reads the profile. Refused by the policy, whatever the form offered."""
    MedicalRecord.objects.filter(patient=personas.camille).update(emergency_break_glass=False)
    make_document(personas.camille, title="Directives de Camille", category=DocumentCategory.DIRECTIVES)
    login_as(client, "kine_bernard")
    _find(client, personas.camille)

    page = client.get(reverse("pro_access_request", args=[personas.camille.public_id])).content.decode()
    assert "Les choix du patient pour l’accès en urgence" in page
    assert "Accès du SAMU (régulation, centre 15)&nbsp;: <strong>autorisé" in page
    assert "Accès des autres professionnels (bris de glace)&nbsp;: <strong>refusé par le patient" in page
    assert 'value="samu"' not in page and 'value="break_glass"' not in page  # nothing this professional may open
    assert "réservé aux médecins régulateurs du centre 15" in page

    response = _emergency(client, personas.camille, EmergencyKind.SAMU)
    assert response.status_code == 302
    followed = client.get(response.url).content.decode()
    assert "réservé aux médecins régulateurs du SAMU" in followed
    assert not EmergencyAccess.objects.filter(patient=personas.camille).exists()
    assert AuditEvent.objects.filter(
        action=Action.ACCESS_DENIED, patient=personas.camille, data__what="emergency", data__kind="samu"
    ).exists()
    assert client.get(reverse("pro_profil", args=[personas.camille.public_id])).status_code == 404
    record = client.get(reverse("pro_record", args=[personas.camille.public_id]))
    assert record.url == reverse("pro_access_request", args=[personas.camille.public_id])


def test_the_regulator_opens_a_samu_access_the_patient_accepts(
    client, personas, mailoutbox, django_capture_on_commit_callbacks
):
    MedicalRecord.objects.filter(patient=personas.camille).update(emergency_break_glass=False)
    make_document(personas.camille, title="Allergie grave", category=DocumentCategory.SYNTHESE)
    login_with_totp(client, personas.dr_regulateur.user, portal="pro")
    _find(client, personas.camille)
    page = client.get(reverse("pro_access_request", args=[personas.camille.public_id])).content.decode()
    assert 'value="samu"' in page and 'value="break_glass"' not in page  # the patient refused break-glass
    with django_capture_on_commit_callbacks(execute=True):
        response = _emergency(client, personas.camille, EmergencyKind.SAMU)
    assert response.url == reverse("pro_record", args=[personas.camille.public_id])
    assert "Allergie grave" in client.get(response.url).content.decode()
    assert client.get(reverse("pro_profil", args=[personas.camille.public_id])).status_code == 200
    access = EmergencyAccess.objects.get(patient=personas.camille)
    assert access.kind == EmergencyKind.SAMU and access.professional == personas.dr_regulateur
    assert "camille.lefevre@example.org" in [address for mail in mailoutbox for address in mail.to]


def test_a_patient_who_refused_the_samu_is_refused_to_the_regulator_too(client, personas):
    MedicalRecord.objects.filter(patient=personas.camille).update(emergency_samu=False, emergency_break_glass=False)
    login_with_totp(client, personas.dr_regulateur.user, portal="pro")
    _find(client, personas.camille)
    page = client.get(reverse("pro_access_request", args=[personas.camille.public_id])).content.decode()
    assert "Accès du SAMU (régulation, centre 15)&nbsp;: <strong>refusé par le patient" in page
    assert 'value="samu"' not in page
    response = _emergency(client, personas.camille, EmergencyKind.SAMU)
    assert "n’autorise pas cet accès en urgence" in client.get(response.url).content.decode()
    assert not EmergencyAccess.objects.exists()


def test_a_samu_access_counts_only_while_its_professional_is_a_regulator(client, login_as, personas):
    """The policy, not the form, decides: a SAMU access row of a non-regulator (opened before the fix, or
    after the role was withdrawn) opens nothing."""
    MedicalRecord.objects.filter(patient=personas.camille).update(emergency_break_glass=False)
    now = timezone.now()
    access = EmergencyAccess.objects.create(
        patient=personas.camille,
        professional=personas.kine_bernard,
        kind=EmergencyKind.SAMU,
        reason=REASON,
        started_at=now,
        expires_at=now + datetime.timedelta(hours=4),
    )
    login_as(client, "kine_bernard")
    _find(client, personas.camille)
    session = client.session
    session[SESSION_EMERGENCIES] = [str(access.public_id)]
    session.save()
    assert client.get(reverse("pro_profil", args=[personas.camille.public_id])).status_code == 404
    assert client.get(reverse("pro_record", args=[personas.camille.public_id])).status_code == 302


def test_break_glass_stays_open_to_every_professional(client, login_as, personas):
    login_as(client, "kine_bernard")
    _find(client, personas.camille)
    page = client.get(reverse("pro_access_request", args=[personas.camille.public_id])).content.decode()
    assert 'value="break_glass"' in page and 'value="samu"' not in page
    assert "Accès des autres professionnels (bris de glace)&nbsp;: <strong>autorisé" in page
    assert "Documents masqués en cas d’urgence&nbsp;: <strong>non visibles" in page
    response = _emergency(client, personas.camille, EmergencyKind.BREAK_GLASS)
    assert response.url == reverse("pro_record", args=[personas.camille.public_id])


def test_an_operator_grants_and_withdraws_the_regulator_role(personas, capsys):
    with pytest.raises(CommandError, match="Only a médecin"):
        call_command("regulateur_samu", personas.kine_bernard.rpps)
    with pytest.raises(CommandError, match="No professional"):
        call_command("regulateur_samu", "10000000009")
    call_command("regulateur_samu", personas.dr_martin.rpps)
    assert Professional.objects.get(pk=personas.dr_martin.pk).samu_regulator
    call_command("regulateur_samu", personas.dr_martin.rpps, "--retirer")
    assert not Professional.objects.get(pk=personas.dr_martin.pk).samu_regulator
    assert "withdrawn" in capsys.readouterr().out
