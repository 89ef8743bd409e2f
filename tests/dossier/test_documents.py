"""The patient's documents: upload checks, listing with filters, hiding, deleting, and the query count."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from dossier.enums import DocumentCategory
from dossier.models import Document
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.dossier.factories import PDF, make_document

pytestmark = pytest.mark.django_db


def _upload(client, name, content, **extra):
    data = {
        "file": SimpleUploadedFile(name, content),
        "title": "Ordonnance du Dr Martin",
        "category": DocumentCategory.ORDONNANCES,
        "care_date": "2026-03-02",
        **extra,
    }
    return client.post(reverse("dossier:upload"), data)


def _png(width=20, height=20) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_patient_uploads_a_pdf_stored_encrypted_and_reads_it_back(client, login_as, personas, settings):
    login_as(client, "camille")
    response = _upload(client, "ordonnance.pdf", PDF)
    document = Document.objects.get(patient=personas.camille)
    assert response.url == reverse("dossier:document_detail", args=[document.public_id])
    on_disk = (settings.MEDIA_ROOT / "chiffre" / document.file_name).read_bytes()
    assert PDF not in on_disk
    download = client.get(reverse("dossier:document_download", args=[document.public_id]))
    assert download.content == PDF
    assert download["Content-Disposition"].startswith("attachment;")
    preview = client.get(reverse("dossier:document_preview", args=[document.public_id]))
    assert preview["Content-Disposition"].startswith("inline;")
    assert "sandbox" in preview["Content-Security-Policy"]
    assert AuditEvent.objects.filter(action=Action.DOCUMENT_ADDED, patient=personas.camille).count() == 1


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.pdf", b"MZ\x90\x00\x03" + b"\x00" * 100, "type de fichier n’est pas accepté"),
        ("scan.pdf", _png(), "ne correspond pas à son extension"),
        ("gros.pdf", b"%PDF-1.4\n" + b"0" * (5 * 1024 * 1024), "taille maximale de 5 Mo"),
        ("note.txt", b"texte\x00binaire", "données binaires"),
        ("vide.pdf", b"", "vide"),
        ("image.png", b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "illisible"),
        ("script.html", b"<script>alert(1)</script>", "type de fichier n’est pas accepté"),
    ],
)
def test_bad_files_get_a_french_message_and_nothing_is_stored(
    client, login_as, personas, settings, name, content, message
):
    login_as(client, "camille")
    response = _upload(client, name, content)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Document.objects.exists()
    assert not (settings.MEDIA_ROOT / "chiffre" / "documents").exists()


def test_a_path_in_the_file_name_is_dropped(client, login_as, personas):
    login_as(client, "camille")
    _upload(client, "../../etc/passwd.txt", b"bonjour")
    assert Document.objects.get().original_filename == "passwd.txt"


def test_future_care_date_is_refused(client, login_as, personas):
    login_as(client, "camille")
    response = _upload(client, "a.pdf", PDF, care_date="2999-01-01")
    assert "ne peut pas être dans le futur" in response.content.decode()


def test_list_filters_and_paginates(client, login_as, personas):
    for index in range(25):
        make_document(personas.camille, title=f"Analyse {index}", category=DocumentCategory.BIOLOGIE)
    make_document(personas.camille, title="Radio du genou", category=DocumentCategory.IMAGERIE)
    login_as(client, "camille")
    page = client.get(reverse("dossier:index")).content.decode()
    assert "26 documents" in page and "Page 1 sur 2" in page
    filtered = client.get(reverse("dossier:index"), {"category": DocumentCategory.IMAGERIE}).content.decode()
    assert "Radio du genou" in filtered and "Analyse 3" not in filtered
    searched = client.get(reverse("dossier:index"), {"q": "genou"}).content.decode()
    assert "1 document" in searched


def test_list_query_count_is_flat(client, login_as, personas, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_document(personas.camille, author=personas.dr_martin.pk and personas.dr_martin)
    login_as(client, "camille")
    with CaptureQueriesContext(connection) as first:
        client.get(reverse("dossier:index"))
    for index in range(500):
        make_document(personas.camille, title=f"Doc {index}", author=personas.dr_martin if index % 2 else None)
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(reverse("dossier:index"))
    assert "501 documents" in response.content.decode()


def test_a_professionals_document_cannot_be_deleted_only_hidden(client, login_as, personas):
    document = make_document(personas.camille, author=personas.dr_martin)
    login_as(client, "camille")
    client.post(reverse("dossier:document_delete", args=[document.public_id]))
    assert Document.objects.filter(pk=document.pk).exists()
    client.post(reverse("dossier:document_hide", args=[document.public_id]), {"hidden": "1"})
    assert Document.objects.get(pk=document.pk).hidden_from_professionals


def test_own_document_renamed_and_deleted(client, login_as, personas, settings):
    document = make_document(personas.camille)
    login_as(client, "camille")
    client.post(reverse("dossier:document_rename", args=[document.public_id]), {"title": "Nouveau titre"})
    assert Document.objects.get(pk=document.pk).title == "Nouveau titre"
    client.post(reverse("dossier:document_delete", args=[document.public_id]))
    assert not Document.objects.filter(pk=document.pk).exists()
    # The deletion is traced by kind and id; neither title, old or new, is kept in the log.
    deleted = AuditEvent.objects.get(action=Action.DOCUMENT_DELETED)
    assert (deleted.target_type, deleted.target_id, deleted.target_label) == (
        "dossier.Document",
        str(document.public_id),
        "document",
    )
    assert "Nouveau titre" not in str(list(AuditEvent.objects.values()))


def test_another_patients_document_is_a_404_with_no_content(client, login_as, personas):
    document = make_document(personas.julien, title="Secret de Julien")
    login_as(client, "camille")
    for name in ("document_detail", "document_preview", "document_download", "document_rename", "document_delete"):
        response = client.get(reverse(f"dossier:{name}", args=[document.public_id]))
        assert response.status_code == 404
        assert "Secret de Julien" not in response.content.decode()


def test_hide_new_documents_by_default(client, login_as, personas):
    personas.camille.medical_record.__class__.objects.filter(patient=personas.camille).update(hide_new_documents=True)
    login_as(client, "camille")
    _upload(client, "a.pdf", PDF)
    assert Document.objects.get().hidden_from_professionals


def test_held_result_is_invisible_to_the_patient_for_a_month(client, login_as, personas):
    import datetime

    from django.utils import timezone

    held = make_document(
        personas.camille,
        author=personas.dr_martin,
        title="Résultat sensible",
        visible_to_patient_from=timezone.now() + datetime.timedelta(days=30),
    )
    login_as(client, "camille")
    assert "Résultat sensible" not in client.get(reverse("dossier:index")).content.decode()
    assert client.get(reverse("dossier:document_detail", args=[held.public_id])).status_code == 404
    Document.objects.filter(pk=held.pk).update(visible_to_patient_from=timezone.now() - datetime.timedelta(seconds=1))
    assert "Résultat sensible" in client.get(reverse("dossier:index")).content.decode()


def test_held_result_notice_after_two_weeks(personas, mailoutbox, django_capture_on_commit_callbacks):
    import datetime

    from django.utils import timezone

    from dossier.services import held_results_process

    now = timezone.now()
    make_document(
        personas.camille,
        author=personas.dr_martin,
        added_at=now - datetime.timedelta(days=13),
        visible_to_patient_from=now + datetime.timedelta(days=17),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert held_results_process(now=now) == 0
        assert held_results_process(now=now + datetime.timedelta(days=1)) == 1
        assert held_results_process(now=now + datetime.timedelta(days=2)) == 0
    assert len(mailoutbox) == 1 and "rendez-vous" in mailoutbox[0].subject


def test_document_hidden_from_representatives_is_not_shown_to_the_parent(client, login_as, personas):
    make_document(
        personas.leo, author=personas.dr_martin, title="Consultation confidentielle", hidden_from_representatives=True
    )
    make_document(personas.leo, author=personas.dr_martin, title="Vaccin DTP")
    login_as(client, "julien")
    client.post(reverse("accounts:switch_profile"), {"profile": str(personas.leo.public_id)})
    page = client.get(reverse("dossier:index")).content.decode()
    assert "Vaccin DTP" in page and "Consultation confidentielle" not in page
