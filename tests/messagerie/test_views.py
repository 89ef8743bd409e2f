"""The messagerie's pages: both sides, bad input, access on real conversations, query counts."""

import io
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from dossier.models import Document
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from messagerie import services
from messagerie.enums import SenderKind
from messagerie.models import Attachment, Conversation, Message
from tests.dossier.factories import make_document
from tests.messagerie.factories import PDF, actor_for, pdf_file, reply, start

pytestmark = pytest.mark.django_db


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buffer, "PNG")
    return buffer.getvalue()


def _found(client, patient) -> None:
    """The professional finds the patient by NIR and birth date (the only way to reach the compose page)."""
    response = client.post(
        reverse("messagerie_pro:search"), {"nir": patient.nir, "birth_date": patient.birth_date.isoformat()}
    )
    assert response.status_code == 302, response.content.decode()[:2000]


# --- Professional side ---------------------------------------------------------------------------------------


def test_a_professional_finds_a_patient_and_writes_with_attachments(client, session_as, personas):
    session_as(client, "dr_martin")
    _found(client, personas.camille)
    url = reverse("messagerie_pro:compose", args=[personas.camille.public_id])
    page = client.get(url)
    assert "Écrire à Camille Lefèvre" in page.content.decode()
    assert "Confidentiel" not in page.content.decode()  # only for minors
    response = client.post(
        url,
        {
            "subject": "Vos résultats",
            "body": "Tout est normal.",
            "client_token": uuid.uuid4(),
            "files": [SimpleUploadedFile("resultats.pdf", PDF), SimpleUploadedFile("photo.png", _png())],
        },
    )
    conversation = Conversation.objects.get()
    assert response.url == reverse("messagerie_pro:conversation", args=[conversation.public_id])
    assert sorted(Attachment.objects.values_list("content_type", flat=True)) == ["application/pdf", "image/png"]
    assert AuditEvent.objects.filter(action=Action.PATIENT_SEARCHED, patient=personas.camille).exists()


def test_no_browsing_to_a_patient_without_searching(client, session_as, personas):
    session_as(client, "dr_martin")
    assert client.get(reverse("messagerie_pro:compose", args=[personas.camille.public_id])).status_code == 404


def test_an_unknown_patient_gets_a_french_message(client, session_as, personas):
    session_as(client, "dr_martin")
    response = client.post(reverse("messagerie_pro:search"), {"nir": personas.camille.nir, "birth_date": "1990-01-01"})
    assert "Aucun patient ne correspond" in response.content.decode()


def test_a_blocked_professional_sees_a_clear_refusal(client, session_as, personas):
    services.messaging_block(
        patient=personas.camille, professional=personas.dr_martin, blocked=True, by=actor_for(personas.camille)
    )
    session_as(client, "dr_martin")
    _found(client, personas.camille)
    url = reverse("messagerie_pro:compose", args=[personas.camille.public_id])
    response = client.post(url, {"subject": "Objet", "body": "Bonjour", "client_token": uuid.uuid4()})
    assert "Ce patient a choisi de ne plus recevoir vos messages" in response.content.decode()
    assert not Conversation.objects.exists()


def test_the_professional_marks_a_minors_message_confidential(client, session_as, personas):
    session_as(client, "dr_martin")
    _found(client, personas.leo)
    url = reverse("messagerie_pro:compose", args=[personas.leo.public_id])
    client.post(url, {"subject": "Sujet secret", "body": "Secret", "confidential": "on", "client_token": uuid.uuid4()})
    assert Conversation.objects.get().hidden_from_representatives
    session_as(client, "julien")
    client.post(reverse("accounts:switch_profile"), {"profile": str(personas.leo.public_id)})
    assert "Sujet secret" not in client.get(reverse("messagerie:index")).content.decode()


def test_the_professional_ends_a_conversation_after_confirming(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    session_as(client, "dr_martin")
    url = reverse("messagerie_pro:end", args=[conversation.public_id])
    assert "ne pourra plus répondre" in client.get(url).content.decode()
    conversation.refresh_from_db()
    assert conversation.ended_at is None
    client.post(url)
    conversation.refresh_from_db()
    assert conversation.ended_by_label == personas.dr_martin.label
    session_as(client, "camille")
    page = client.get(reverse("messagerie:conversation", args=[conversation.public_id])).content.decode()
    assert "Dr Anne Martin, médecin généraliste a mis fin à vos échanges" in page
    response = client.post(
        reverse("messagerie:conversation", args=[conversation.public_id]),
        {"body": "Encore une question", "client_token": uuid.uuid4()},
        follow=True,
    )
    assert "plus possible d’y répondre" in response.content.decode()
    assert conversation.messages.count() == 1


# --- Patient side --------------------------------------------------------------------------------------------


def test_unread_counts_on_the_list_the_dashboard_and_the_header(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    reply(conversation, actor_for(personas.dr_martin), body="Second message")
    session_as(client, "camille")
    listing = client.get(reverse("messagerie:index")).content.decode()
    assert "2 non lus" in listing
    dashboard = client.get(reverse("accounts:dashboard")).content.decode()
    assert "2 messages non lus" in dashboard
    assert "fr-badge--new" in dashboard  # the header's count
    client.get(reverse("messagerie:conversation", args=[conversation.public_id]))
    assert "non lu" not in client.get(reverse("accounts:dashboard")).content.decode()
    assert not Message.objects.filter(sender_kind=SenderKind.PROFESSIONAL, read_at__isnull=True).exists()


def test_the_professional_header_shows_unread_answers(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    reply(conversation, actor_for(personas.camille))
    session_as(client, "dr_martin")
    page = client.get(reverse("messagerie_pro:index")).content.decode()
    assert "1 non lu" in page and "fr-badge--new" in page


def test_subject_and_body_are_escaped(client, session_as, personas):
    conversation = start(
        personas.dr_martin, personas.camille, subject="<script>alert(1)</script>", body="<b>gras</b>\nligne 2"
    )
    session_as(client, "camille")
    page = client.get(reverse("messagerie:conversation", args=[conversation.public_id])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;gras&lt;/b&gt;<br>ligne 2" in page


def test_the_patient_answers_with_a_file_and_a_document_of_the_record(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    document = make_document(personas.camille, title="Radio du genou")
    session_as(client, "camille")
    url = reverse("messagerie:conversation", args=[conversation.public_id])
    assert "Radio du genou" in client.get(url).content.decode()
    response = client.post(
        url,
        {
            "body": "Voici ma radio et une note.",
            "client_token": uuid.uuid4(),
            "documents": [str(document.public_id)],
            "files": [SimpleUploadedFile("note.txt", b"Douleur le matin.")],
        },
    )
    assert response.status_code == 302
    message = conversation.messages.get(sender_kind=SenderKind.PATIENT)
    names = sorted(a.original_filename for a in message.attachments.all())
    assert names == ["document.pdf", "note.txt"]


def test_a_patient_cannot_attach_someone_elses_document(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    make_document(personas.camille, title="Mon document")
    foreign = make_document(personas.julien)
    session_as(client, "camille")
    response = client.post(
        reverse("messagerie:conversation", args=[conversation.public_id]),
        {"body": "Bonjour", "client_token": uuid.uuid4(), "documents": [str(foreign.public_id)]},
    )
    assert response.status_code == 200
    assert "Ce document n’est pas disponible" in response.content.decode()
    assert conversation.messages.count() == 1


def test_a_patient_starts_a_conversation_with_the_medecin_traitant_only(client, session_as, personas):
    session_as(client, "camille")
    page = client.get(reverse("messagerie:new")).content.decode()
    assert "Dr Anne Martin" in page and "Paul Leroy" not in page
    data = {"subject": "Question", "body": "Bonjour", "client_token": uuid.uuid4()}
    response = client.post(
        reverse("messagerie:new"), {**data, "professional": str(personas.pharmacien_leroy.public_id)}
    )
    assert "Vous ne pouvez pas écrire à ce professionnel" in response.content.decode()
    response = client.post(reverse("messagerie:new"), {**data, "professional": str(personas.dr_martin.public_id)})
    assert response.status_code == 302
    assert Conversation.objects.get().started_by == SenderKind.PATIENT


@pytest.mark.parametrize(
    ("data", "files", "message"),
    [
        ({"body": ""}, [], "il ne peut pas être vide"),
        ({"body": "   "}, [], "il ne peut pas être vide"),
        ({"body": "x" * 100_000}, [], "ne peut pas dépasser 10"),
        ({"body": "ok"}, [("scan.pdf", _png())], "ne correspond pas à son extension"),
        ({"body": "ok"}, [("virus.pdf", b"MZ\x90\x00" + b"\x00" * 50)], "type de fichier n’est pas accepté"),
        ({"body": "ok"}, [("page.html", b"<script>alert(1)</script>")], "type de fichier n’est pas accepté"),
        (
            {"body": "ok"},
            # 10.6 Mo in all: over the attachments' limit, under the request body limit (bigger bodies: 413,
            # tests/security/test_request_limits.py).
            [("a.pdf", b"%PDF-1.4\n" + b"0" * (5300 * 1024)), ("b.pdf", b"%PDF-1.4\n" + b"0" * (5300 * 1024))],
            "dépasse la limite autorisée (10 Mo",
        ),
    ],
)
def test_bad_input_gets_a_french_message_and_nothing_is_stored(
    client, session_as, personas, settings, data, files, message
):
    conversation = start(personas.dr_martin, personas.camille)
    session_as(client, "camille")
    uploads = [SimpleUploadedFile(name, content) for name, content in files]
    response = client.post(
        reverse("messagerie:conversation", args=[conversation.public_id]),
        {**data, "client_token": uuid.uuid4(), "files": uploads},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert conversation.messages.count() == 1
    assert Attachment.objects.count() == 0


def test_a_double_submit_sends_one_message(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    session_as(client, "camille")
    url = reverse("messagerie:conversation", args=[conversation.public_id])
    data = {"body": "Merci", "client_token": uuid.uuid4()}
    client.post(url, data)
    response = client.post(url, data, follow=True)
    assert "Ce message a déjà été envoyé" in response.content.decode()
    assert conversation.messages.filter(sender_kind=SenderKind.PATIENT).count() == 1


def test_replying_in_a_foreign_conversation_is_a_404(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille)
    session_as(client, "julien")
    url = reverse("messagerie:conversation", args=[conversation.public_id])
    assert client.post(url, {"body": "Intrus", "client_token": uuid.uuid4()}).status_code == 404
    session_as(client, "pharmacien_leroy")
    url = reverse("messagerie_pro:conversation", args=[conversation.public_id])
    assert client.post(url, {"body": "Intrus", "client_token": uuid.uuid4()}).status_code == 404
    assert conversation.messages.count() == 1


def test_search_by_subject_and_correspondent(client, session_as, personas):
    start(personas.dr_martin, personas.camille, subject="Vaccin grippe")
    start(personas.kine_bernard, personas.camille, subject="Rééducation")
    session_as(client, "camille")
    by_subject = client.get(reverse("messagerie:index"), {"q": "grippe"}).content.decode()
    assert "Vaccin grippe" in by_subject and "Rééducation" not in by_subject
    by_name = client.get(reverse("messagerie:index"), {"q": "Lucie Bernard"}).content.decode()
    assert "Rééducation" in by_name and "Vaccin grippe" not in by_name
    session_as(client, "kine_bernard")
    by_patient = client.get(reverse("messagerie_pro:index"), {"q": "lefèvre"}).content.decode()
    assert "Rééducation" in by_patient


def test_archive_and_confirmed_delete(client, session_as, personas):
    conversation = start(personas.dr_martin, personas.camille, subject="Sujet archivé")
    session_as(client, "camille")
    client.post(reverse("messagerie:archive", args=[conversation.public_id]), {"archived": "1"})
    assert "Sujet archivé" not in client.get(reverse("messagerie:index")).content.decode()
    assert "Sujet archivé" in client.get(reverse("messagerie:index"), {"dossier": "archives"}).content.decode()
    delete_url = reverse("messagerie:delete", args=[conversation.public_id])
    assert "La suppression est définitive" in client.get(delete_url).content.decode()
    conversation.refresh_from_db()
    assert conversation.patient_deleted_at is None  # nothing happens before the confirmation
    client.post(delete_url)
    assert client.get(reverse("messagerie:conversation", args=[conversation.public_id])).status_code == 404
    session_as(client, "dr_martin")
    assert client.get(reverse("messagerie_pro:conversation", args=[conversation.public_id])).status_code == 200


def test_save_an_attachment_into_the_documents(client, session_as, personas):
    start(personas.dr_martin, personas.camille, files=[pdf_file("ordonnance.pdf")])
    attachment = Attachment.objects.get()
    session_as(client, "camille")
    client.post(reverse("messagerie:attachment_save", args=[attachment.public_id]))
    document = Document.objects.get(patient=personas.camille)
    assert document.title == "ordonnance.pdf"
    response = client.post(reverse("messagerie:attachment_save", args=[attachment.public_id]), follow=True)
    assert "déjà enregistrée" in response.content.decode()
    assert Document.objects.count() == 1


def test_blocking_page(client, session_as, personas):
    start(personas.dr_martin, personas.camille)
    session_as(client, "camille")
    assert "Dr Anne Martin" in client.get(reverse("messagerie:blocks")).content.decode()
    client.post(reverse("messagerie:blocks"), {"professional": str(personas.dr_martin.public_id), "blocked": "1"})
    assert "Débloquer" in client.get(reverse("messagerie:blocks")).content.decode()
    assert (
        client.post(reverse("messagerie:blocks"), {"professional": "pas-un-uuid", "blocked": "1"}).status_code == 404
    )


# --- Access on real objects ----------------------------------------------------------------------------------

CONVERSATION_PAGE = {
    "anonymous": 302,
    "camille": 200,
    "julien": 404,
    "sophie": 404,
    "dr_martin": 403,  # the patient side is not theirs: they use /pro/messagerie/
    "pharmacien_leroy": 403,
    "agent_cpam": 403,
    "agent_france_services": 403,
}
PRO_CONVERSATION_PAGE = {**dict.fromkeys(CONVERSATION_PAGE, 403), "anonymous": 302, "dr_martin": 200}
PRO_CONVERSATION_PAGE["pharmacien_leroy"] = 404
ATTACHMENT = {**dict.fromkeys(CONVERSATION_PAGE, 404), "anonymous": 302, "camille": 200, "dr_martin": 200}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("messagerie:conversation", CONVERSATION_PAGE),
        ("messagerie:delete", CONVERSATION_PAGE),
        ("messagerie_pro:conversation", PRO_CONVERSATION_PAGE),
        ("messagerie_pro:end", PRO_CONVERSATION_PAGE),
    ],
)
def test_only_participants_open_a_conversation(client, session_as, personas, name, expected):
    conversation = start(personas.dr_martin, personas.camille)
    for persona, status in expected.items():
        client.logout()
        session_as(client, persona)
        response = client.get(reverse(name, args=[conversation.public_id]))
        assert response.status_code == status, persona
    viewed = AuditEvent.objects.filter(action=Action.CONVERSATION_VIEWED).values_list("actor_label", flat=True)
    if name.endswith("conversation"):
        assert len(viewed) == 1  # only the participant's reading is traced


def test_only_participants_download_an_attachment(client, session_as, personas):
    start(personas.dr_martin, personas.camille, files=[pdf_file()])
    attachment = Attachment.objects.get()
    for persona, status in ATTACHMENT.items():
        client.logout()
        session_as(client, persona)
        response = client.get(reverse("messagerie:attachment", args=[attachment.public_id]))
        assert response.status_code == status, persona
        if status == 200:
            assert response.content == PDF
            assert "sandbox" in response["Content-Security-Policy"]
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_DOWNLOADED).count() == 2


# --- Query counts --------------------------------------------------------------------------------------------


def _many_conversations(personas, count: int) -> None:
    now = Conversation._meta.get_field("last_message_at").default()
    conversations = Conversation.objects.bulk_create(
        Conversation(
            patient=personas.camille,
            professional=personas.dr_martin if i % 2 else personas.kine_bernard,
            subject=f"Objet {i}",
            started_by=SenderKind.PROFESSIONAL,
            last_message_at=now,
        )
        for i in range(count)
    )
    Message.objects.bulk_create(
        Message(
            conversation=conversation,
            sender_kind=SenderKind.PROFESSIONAL,
            sender_label="Dr Anne Martin",
            body="Bonjour",
            client_token=uuid.uuid4(),
        )
        for conversation in conversations
    )


@pytest.mark.parametrize(
    ("persona", "url_name"), [("camille", "messagerie:index"), ("dr_martin", "messagerie_pro:index")]
)
def test_the_conversation_list_keeps_a_constant_number_of_queries(
    client, session_as, personas, django_assert_num_queries, django_assert_max_num_queries, persona, url_name
):
    session_as(client, persona)
    _many_conversations(personas, 2)
    with django_assert_max_num_queries(30) as few:
        assert client.get(reverse(url_name)).status_code == 200
    _many_conversations(personas, 198)
    with django_assert_num_queries(len(few.captured_queries)):
        response = client.get(reverse(url_name))
    assert "200 conversations" in response.content.decode() or persona == "dr_martin"
