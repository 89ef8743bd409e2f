"""Entourage and wishes: professionals with roles (and the care team), organ donation, advance directives."""

from django.urls import reverse

from dossier.models import CareTeamMember, Document
from profil.models import HealthProfile, ProfileProfessional


def test_medecin_traitant_is_shown_read_only(client, as_patient):
    as_patient("camille")
    page = client.get(reverse("profil:professionals")).content.decode()
    assert "Anne Martin" in page


def test_designating_a_pharmacist_adds_them_to_the_care_team(client, as_patient, personas):
    patient = as_patient("camille")
    rpps = personas.pharmacien_leroy.rpps
    response = client.post(reverse("profil:professionals"), {"role": "pharmacien_correspondant", "rpps": rpps})
    assert response.status_code == 302
    designation = ProfileProfessional.objects.get(patient=patient)
    assert designation.professional == personas.pharmacien_leroy
    assert CareTeamMember.objects.filter(patient=patient, professional=personas.pharmacien_leroy).exists()
    assert "Paul Leroy" in client.get(reverse("profil:professionals")).content.decode()
    client.post(reverse("profil:professional_remove", args=[designation.public_id]))
    assert not ProfileProfessional.objects.filter(patient=patient).exists()
    assert CareTeamMember.objects.filter(patient=patient, professional=personas.pharmacien_leroy).exists()


def test_wrong_profession_or_unknown_rpps_is_refused(client, as_patient, personas):
    patient = as_patient("leo")
    response = client.post(
        reverse("profil:professionals"), {"role": "sage_femme_referente", "rpps": personas.pharmacien_leroy.rpps}
    )
    assert "n’est pas sage-femme" in response.content.decode()
    response = client.post(
        reverse("profil:professionals"), {"role": "pharmacien_correspondant", "rpps": "12345678901"}
    )
    assert "Aucun professionnel" in response.content.decode()
    assert not ProfileProfessional.objects.filter(patient=patient).exists()
    assert not CareTeamMember.objects.filter(patient=patient, professional=personas.pharmacien_leroy).exists()


def test_organ_donation_acknowledgement(client, as_patient):
    patient = as_patient("camille")
    page = client.get(reverse("profil:organ_donation")).content.decode()
    assert "registre national des refus" in page and "consentement présumé" in page
    assert "Cochez la case" in client.post(reverse("profil:organ_donation"), {}).content.decode()
    client.post(reverse("profil:organ_donation"), {"acknowledged": "on"})
    assert HealthProfile.objects.get(patient=patient).organ_donation_acknowledged_at is not None


DIRECTIVES = {
    "situations": "Coma irréversible <b>",
    "reanimation": "refuse",
    "ventilation": "refuse",
    "nutrition": "sans_avis",
    "sedation": "accepte",
    "wishes": "Mourir chez moi.",
    "confirm": "on",
}


def test_directives_become_a_pdf_in_the_documents(client, as_patient):
    from io import BytesIO

    from pypdf import PdfReader

    from dossier.services import document_content

    patient = as_patient("camille")
    response = client.post(reverse("profil:directives"), DIRECTIVES)
    assert response.status_code == 302
    document = Document.objects.get(patient=patient, category="directives")
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(document_content(document))).pages)
    assert "Coma irréversible <b>" in text
    assert "Je la refuse" in text and "Mourir chez moi." in text


def test_a_representative_cannot_write_directives(client, as_patient):
    patient = as_patient("leo")
    page = client.get(reverse("profil:directives")).content.decode()
    assert "un représentant légal ne peut pas les rédiger" in page
    assert client.post(reverse("profil:directives"), DIRECTIVES).status_code == 403
    assert not Document.objects.filter(patient=patient).exists()
