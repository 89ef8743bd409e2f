"""Professionals' access: care team, habilitation matrix, masking, blocking, emergency, and the trace."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.enums import Profession
from dossier.enums import DocumentCategory
from dossier.habilitations import HABILITATIONS, readable_categories
from dossier.models import CareTeamMember, Document, MedicalRecord
from espace_sante.access.actor import Actor
from espace_sante.access.policy import documents_visible_to
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.dossier.factories import PDF, make_document

pytestmark = pytest.mark.django_db


def _find(client, patient):
    return client.post(reverse("pro_search"), {"nir": patient.nir, "birth_date": patient.birth_date.isoformat()})


def test_medecin_traitant_finds_the_patient_and_reads_everything(client, login_as, personas):
    make_document(personas.camille, title="Note personnelle masquée", hidden=True)
    make_document(personas.camille, title="Bilan sanguin", category=DocumentCategory.BIOLOGIE)
    login_as(client, "dr_martin")
    response = _find(client, personas.camille)
    assert response.url == reverse("pro_record", args=[personas.camille.public_id])
    page = client.get(response.url).content.decode()
    assert "Dossier de Camille Marie Lefèvre" in page
    assert "Bilan sanguin" in page and "Note personnelle masquée" in page
    assert AuditEvent.objects.filter(action=Action.RECORD_VIEWED, patient=personas.camille).count() == 1


def test_no_browsing_by_id_without_a_search(client, login_as, personas):
    login_as(client, "dr_martin")
    assert client.get(reverse("pro_record", args=[personas.camille.public_id])).status_code == 404


def test_wrong_birth_date_finds_nothing(client, login_as, personas):
    login_as(client, "dr_martin")
    response = client.post(reverse("pro_search"), {"nir": personas.camille.nir, "birth_date": "1985-03-15"})
    assert "Aucun dossier médical ne correspond" in response.content.decode()


def test_outside_the_care_team_the_professional_gets_the_access_page_only(client, login_as, personas):
    make_document(personas.camille, title="Bilan sanguin", category=DocumentCategory.BIOLOGIE)
    login_as(client, "pharmacien_leroy")
    response = _find(client, personas.camille)
    page = client.get(response.url, follow=True).content.decode()
    assert "Vous n’avez pas encore accès à ce dossier" in page
    assert "Bilan sanguin" not in page


def test_consent_declared_in_consultation_opens_the_matrix_subset(client, login_as, personas):
    make_document(personas.camille, title="Ordonnance", category=DocumentCategory.ORDONNANCES)
    make_document(personas.camille, title="Radio du genou", category=DocumentCategory.IMAGERIE)
    make_document(personas.camille, title="Ordonnance masquée", category=DocumentCategory.ORDONNANCES, hidden=True)
    login_as(client, "pharmacien_leroy")
    _find(client, personas.camille)
    client.post(reverse("pro_consent", args=[personas.camille.public_id]), {"consent": "on"})
    page = client.get(reverse("pro_record", args=[personas.camille.public_id])).content.decode()
    assert "Ordonnance" in page
    assert "Radio du genou" not in page  # not in a pharmacist's habilitations
    assert "Ordonnance masquée" not in page
    assert AuditEvent.objects.filter(action=Action.CONSENT_DECLARED, patient=personas.camille).exists()


@pytest.mark.parametrize("profession", sorted(HABILITATIONS))
def test_habilitation_matrix_row(personas, profession):
    """Each row of the matrix: a care-team professional of that profession sees exactly its categories."""
    professional = personas.kine_bernard
    type(professional).objects.filter(pk=professional.pk).update(profession=profession)
    professional.refresh_from_db()
    CareTeamMember.objects.create(patient=personas.camille, professional=professional, role="added_by_patient")
    for category in DocumentCategory.values:
        make_document(personas.camille, title=category, category=category)
    actor = Actor.for_user(professional.user, verified=True)
    seen = set(documents_visible_to(actor, personas.camille).values_list("category", flat=True))
    assert seen == set(readable_categories(profession))


def test_doctors_read_every_category_and_unknown_professions_nothing():
    assert readable_categories(Profession.MEDECIN) == frozenset(DocumentCategory.values)
    assert readable_categories("charlatan") == frozenset()


def test_author_and_administrator_see_hidden_documents(personas):
    kine = personas.kine_bernard
    member = CareTeamMember.objects.create(patient=personas.camille, professional=kine, role="added_by_patient")
    own = make_document(personas.camille, title="Bilan kiné", author=kine, hidden=True)
    other = make_document(personas.camille, title="Compte rendu masqué", hidden=True)
    actor = Actor.for_user(kine.user, verified=True)
    visible = set(documents_visible_to(actor, personas.camille))
    assert own in visible and other not in visible
    member.is_administrator = True
    member.save()
    assert other in set(documents_visible_to(actor, personas.camille))


def test_blocked_professional_gets_404_and_the_attempt_is_traced(client, login_as, personas):
    CareTeamMember.objects.create(
        patient=personas.camille,
        professional=personas.dr_martin,
        role="medecin_traitant",
        blocked_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    document = make_document(personas.camille, title="Bilan")
    login_as(client, "dr_martin")
    _find(client, personas.camille)
    page = client.get(reverse("pro_record", args=[personas.camille.public_id]), follow=True).content.decode()
    assert "a bloqué votre accès" in page and "Bilan" not in page
    assert client.get(reverse("pro_document", args=[document.public_id])).status_code == 404
    assert client.get(reverse("dossier:document_download", args=[document.public_id])).status_code == 404
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, patient=personas.camille).exists()
    # Declaring consent does not get around a block.
    client.post(reverse("pro_consent", args=[personas.camille.public_id]), {"consent": "on"})
    assert client.get(reverse("pro_record", args=[personas.camille.public_id])).status_code == 302


def test_patient_blocks_and_unblocks_from_the_access_page(client, login_as, personas):
    login_as(client, "camille")
    client.post(reverse("dossier:care_team"), {"rpps": personas.kine_bernard.rpps})
    assert CareTeamMember.objects.filter(patient=personas.camille, professional=personas.kine_bernard).exists()
    client.post(
        reverse("dossier:care_team_block"), {"professional": str(personas.kine_bernard.public_id), "blocked": "1"}
    )
    member = CareTeamMember.objects.get(patient=personas.camille, professional=personas.kine_bernard)
    assert member.blocked_at is not None
    client.post(
        reverse("dossier:care_team_block"), {"professional": str(personas.kine_bernard.public_id), "blocked": "0"}
    )
    # Unblocking does not re-authorise.
    assert not CareTeamMember.objects.filter(patient=personas.camille, professional=personas.kine_bernard).exists()


def test_emergency_access_is_bounded_by_the_patients_settings(
    client, login_as, personas, mailoutbox, django_capture_on_commit_callbacks
):
    make_document(personas.camille, title="Allergie grave", category=DocumentCategory.SYNTHESE)
    make_document(personas.camille, title="Document masqué", hidden=True)
    login_as(client, "kine_bernard")
    _find(client, personas.camille)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("pro_emergency", args=[personas.camille.public_id]),
            {"kind": "break_glass", "reason": "Patiente inconsciente au cabinet"},
        )
    assert response.url == reverse("pro_record", args=[personas.camille.public_id])
    page = client.get(response.url).content.decode()
    assert "Accès en urgence en cours" in page
    assert "Allergie grave" in page and "Document masqué" not in page
    recipients = sorted(address for mail in mailoutbox for address in mail.to)
    assert recipients == ["camille.lefevre@example.org", "dr.martin@pro.example"]
    viewed = AuditEvent.objects.get(action=Action.RECORD_VIEWED, patient=personas.camille)
    assert viewed.data.get("emergency")


def test_emergency_refused_when_the_patient_does_not_allow_it(client, login_as, personas):
    MedicalRecord.objects.filter(patient=personas.camille).update(emergency_break_glass=False)
    login_as(client, "kine_bernard")
    _find(client, personas.camille)
    response = client.post(
        reverse("pro_emergency", args=[personas.camille.public_id]),
        {"kind": "break_glass", "reason": "Patiente inconsciente au cabinet"},
        follow=True,
    )
    assert "n’autorise pas cet accès en urgence" in response.content.decode()


def test_professional_adds_a_document_and_the_patient_is_notified_without_content(
    client, login_as, personas, mailoutbox, django_capture_on_commit_callbacks
):
    login_as(client, "dr_martin")
    _find(client, personas.camille)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("pro_add_document", args=[personas.camille.public_id]),
            {
                "file": SimpleUploadedFile("cr.pdf", PDF),
                "title": "Compte rendu IRM lombaire",
                "category": DocumentCategory.COMPTES_RENDUS,
                "care_date": "2026-10-01",
            },
        )
    document = Document.objects.get(patient=personas.camille)
    assert document.author_professional == personas.dr_martin
    assert len(mailoutbox) == 1 and "IRM" not in mailoutbox[0].body and "IRM" not in mailoutbox[0].subject


def test_minor_secret_mode_only_for_minors(client, login_as, personas):
    login_as(client, "dr_martin")
    _find(client, personas.camille)
    response = client.post(
        reverse("pro_add_document", args=[personas.camille.public_id]),
        {
            "file": SimpleUploadedFile("cr.pdf", PDF),
            "title": "Consultation",
            "category": DocumentCategory.COMPTES_RENDUS,
            "care_date": "2026-10-01",
            "hidden_from_representatives": "on",
        },
    )
    assert "Seul un professionnel peut rendre le document d’un mineur invisible" in response.content.decode()
    assert not Document.objects.exists()


def test_patient_sees_professional_accesses_in_the_history(client, login_as, personas):
    make_document(personas.camille, title="Bilan")
    pro = type(client)()
    login_as(pro, "dr_martin")
    _find(pro, personas.camille)
    pro.get(reverse("pro_record", args=[personas.camille.public_id]))
    login_as(client, "camille")
    page = client.get(reverse("dossier:access_history")).content.decode()
    assert "Dr Anne Martin, médecin généraliste" in page
    assert "a consulté le dossier médical" in page
