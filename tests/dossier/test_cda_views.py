"""CDA R2 documents in the record's pages: uploaded and stored encrypted as text/xml, a level 3 shown as a page
to the patient and to the care team, a level 1 shown as its PDF, the download giving the original XML."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from dossier import services
from dossier.enums import DocumentCategory
from dossier.models import Document
from espace_sante.access.actor import Actor
from tests.dossier.factories import make_document
from tests.dossier.test_cda import LDL_SES, LEVEL_1, level_3

pytestmark = pytest.mark.django_db


def _cda_document(patient, content, **extra):
    return make_document(
        patient,
        title="Lettre de liaison",
        content=content,
        content_type="text/xml",
        original_filename="ldl.xml",
        **extra,
    )


def test_patient_uploads_a_level_3_cda_stored_encrypted_and_reads_it_as_a_page(client, login_as, personas, settings):
    login_as(client, "camille")
    data = {
        "file": SimpleUploadedFile("lettre-de-liaison.xml", LDL_SES, content_type="application/octet-stream"),
        "title": "Lettre de liaison",
        "category": DocumentCategory.COMPTES_RENDUS,
        "care_date": "2019-12-03",
    }
    response = client.post(reverse("dossier:upload"), data)
    document = Document.objects.get(patient=personas.camille)
    assert response.url == reverse("dossier:document_detail", args=[document.public_id])
    assert document.content_type == "text/xml" and document.is_cda
    assert b"ClinicalDocument" not in (settings.MEDIA_ROOT / "chiffre" / document.file_name).read_bytes()

    page = client.get(response.url).content.decode()
    assert "Contenu du document" in page
    assert "Hôpital Européen Georges Pompidou" in page and "<h3>Motif de l&#x27;hospitalisation</h3>" in page
    assert "&lt;ClinicalDocument" not in page and "urn:hl7-org:v3" not in page  # never the raw XML

    preview = client.get(reverse("dossier:document_preview", args=[document.public_id]))
    assert preview["Content-Type"].startswith("text/html")
    assert "Content-Security-Policy" in preview and "unsafe-inline" not in preview["Content-Security-Policy"]
    body = preview.content.decode()
    assert "<h1>Lettre de liaison</h1>" in body and "Episode psychotique" in body

    download = client.get(reverse("dossier:document_download", args=[document.public_id]))
    assert download.content == LDL_SES
    assert download["Content-Type"] == "text/xml" and download["Content-Disposition"].startswith("attachment;")


def test_a_level_1_cda_previews_as_its_embedded_pdf_and_downloads_as_the_original(client, login_as, personas):
    document = _cda_document(personas.camille, LEVEL_1)
    login_as(client, "camille")
    page = client.get(reverse("dossier:document_detail", args=[document.public_id])).content.decode()
    assert "contient un fichier PDF" in page and "Aperçu" in page
    preview = client.get(reverse("dossier:document_preview", args=[document.public_id]))
    assert preview["Content-Type"] == "application/pdf" and preview.content.startswith(b"%PDF-")
    assert preview["Content-Disposition"] == 'inline; filename="ldl.pdf"'
    assert "sandbox" in preview["Content-Security-Policy"]
    assert client.get(reverse("dossier:document_download", args=[document.public_id])).content == LEVEL_1


def test_the_medecin_traitant_reads_a_level_3_cda_as_a_page(client, login_as, personas):
    document = _cda_document(personas.camille, LDL_SES, author=personas.dr_martin)
    login_as(client, "dr_martin")
    client.post(reverse("pro_search"), {"nir": personas.camille.nir, "birth_date": personas.camille.birth_date})
    page = client.get(reverse("pro_document", args=[document.public_id]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Contenu du document" in text and "Synthèse médicale du séjour" in text
    assert "DOMINIQUE MARIE-LOUISE PAT-TROIS" in text
    preview = client.get(reverse("dossier:document_preview", args=[document.public_id])).content.decode()
    assert "Hôpital Européen Georges Pompidou" in preview


def test_a_hostile_narrative_stored_by_any_path_is_shown_inert(client, login_as, personas):
    hostile = level_3('<paragraph onclick="alert(1)">Bonjour<xhtml:script>alert(2)</xhtml:script></paragraph>')
    document = _cda_document(personas.camille, hostile)
    login_as(client, "camille")
    page = client.get(reverse("dossier:document_detail", args=[document.public_id])).content.decode()
    assert "<p>Bonjour</p>" in page and "alert(" not in page


def test_an_unreadable_stored_cda_offers_the_download_only(client, login_as, personas):
    document = _cda_document(personas.camille, b"<ClinicalDocument xmlns='urn:hl7-org:v3'>")
    login_as(client, "camille")
    page = client.get(reverse("dossier:document_detail", args=[document.public_id])).content.decode()
    assert "ne peut pas être affiché" in page
    preview = client.get(reverse("dossier:document_preview", args=[document.public_id]))
    assert preview["Content-Disposition"].startswith("attachment;")


def test_a_share_link_opens_a_level_3_cda_as_a_page(client, personas):
    document = _cda_document(personas.camille, LDL_SES)
    _link, token = services.share_create(
        document=document, by=Actor.for_user(personas.camille.user, verified=True), hours=1
    )
    response = client.get(reverse("share_file", args=[token]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    assert "Synthèse médicale du séjour" in response.content.decode()
