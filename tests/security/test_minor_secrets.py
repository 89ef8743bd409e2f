"""A minor's secrets (R.1111-50) and results held for announcement (R.1111-53) do not leak through the
access history, the e-mails or the list of professionals a parent may write to.

Driven from the outside: the professional adds documents through /pro/, the parent and the patient read
their pages, and the e-mails are read from the outbox, where every notification is queued.
"""

import datetime
import uuid

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from dossier import services as dossier_services
from dossier.enums import DocumentCategory
from dossier.files import CheckedFile
from dossier.models import Document
from dossier.views.patient import TABS
from espace_sante.outbox.models import OutboxMessage
from messagerie.models import Conversation
from tests.messagerie.factories import actor_for, reply, start

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _add_document(client, patient, title: str, **flags) -> Document:
    data = {
        "title": title,
        "category": DocumentCategory.BIOLOGIE,
        "care_date": "2026-01-20",
        "file": SimpleUploadedFile("cr.pdf", PDF, content_type="application/pdf"),
        **dict.fromkeys(flags, "on"),
    }
    response = client.post(reverse("pro_add_document", kwargs={"public_id": patient.public_id}), data)
    assert response.status_code == 302, response.content.decode()[:500]
    return Document.objects.get(title=title)


def _history(client) -> str:
    pages = [client.get(reverse("dossier:access_history") + f"?onglet={tab}") for tab in TABS]
    assert all(page.status_code == 200 for page in pages)
    return "".join(page.content.decode() for page in pages)


def _as_parent_of(client, session_as, parent: str, child) -> None:
    session_as(client, parent)
    response = client.post(reverse("accounts:switch_profile"), {"profile": str(child.public_id)})
    assert response.status_code == 302


def _told(document: Document) -> list[str]:
    return list(
        OutboxMessage.objects.filter(dedupe_key=f"new-document:{document.public_id}").values_list(
            "recipient", flat=True
        )
    )


def test_a_secret_document_tells_the_parent_nothing(client, login_as, session_as, personas):
    doctor = type(client)()
    login_as(doctor, "dr_martin")
    visible = _add_document(doctor, personas.leo, "Bilan ordinaire de Léo")
    secret = _add_document(doctor, personas.leo, "SecretIVGdeLeo", hidden_from_representatives=True)
    julien = personas.julien.user.email
    assert _told(visible) == [julien]  # Léo has no login: ordinary news go to the card holder
    assert _told(secret) == []
    _as_parent_of(client, session_as, "julien", personas.leo)
    history = _history(client)
    assert "SecretIVGdeLeo" not in history
    assert history.count("a ajouté un document") == 1
    assert "Bilan ordinaire de Léo" in history  # the label is resolved at read time for what he may open


def test_a_held_result_stays_out_of_the_history_until_its_release(client, login_as, session_as, personas):
    doctor = type(client)()
    login_as(doctor, "dr_martin")
    held = _add_document(doctor, personas.camille, "ResultatEnAttenteCamille", held_for_announcement=True)
    assert _told(held) == []
    session_as(client, "camille")
    history = _history(client)
    assert "ResultatEnAttenteCamille" not in history
    assert "a ajouté un document" not in history
    # A month later the result is visible by itself: so is its trace, with its title read now.
    Document.objects.filter(pk=held.pk).update(visible_to_patient_from=timezone.now() - datetime.timedelta(seconds=1))
    history = _history(client)
    assert "ResultatEnAttenteCamille" in history
    assert history.count("a ajouté un document") == 1


def test_the_held_result_notice_never_reaches_the_parent_of_a_secret(personas):
    document = dossier_services.document_add(
        patient=personas.leo,
        by=actor_for(personas.dr_martin),
        file=CheckedFile(PDF, "application/pdf", "cr.pdf"),
        title="Sérologie secrète",
        category=DocumentCategory.BIOLOGIE,
        care_date=datetime.date(2026, 1, 20),
        hidden_from_representatives=True,
        held_for_announcement=True,
    )
    Document.objects.filter(pk=document.pk).update(added_at=timezone.now() - datetime.timedelta(weeks=3))
    assert dossier_services.held_results_process() == 0
    assert not OutboxMessage.objects.filter(recipient=personas.julien.user.email).exists()


def test_confidential_messages_make_no_correspondent_and_no_email_for_the_parent(client, session_as, personas):
    leroy = personas.pharmacien_leroy
    conversation = start(leroy, personas.leo, subject="Contraception", hidden_from_representatives=True)
    reply(conversation, actor_for(leroy), body="Sans la case confidentiel")  # the conversation still is
    julien = personas.julien.user.email
    assert not OutboxMessage.objects.filter(recipient=julien).exists()
    _as_parent_of(client, session_as, "julien", personas.leo)
    page = client.get(reverse("messagerie:new")).content.decode()
    assert "Leroy" not in page
    before = Conversation.objects.count()
    client.post(
        reverse("messagerie:new"),
        {"professional": str(leroy.public_id), "subject": "Question", "body": "Bonjour", "client_token": uuid.uuid4()},
    )
    assert Conversation.objects.count() == before
    assert "a démarré une conversation" not in _history(client)
    # Once he writes to Léo openly, the parent may answer him: the test can see a correspondent.
    start(leroy, personas.leo, subject="Vaccin")
    assert "Leroy" in client.get(reverse("messagerie:new")).content.decode()
    assert OutboxMessage.objects.filter(recipient=julien).count() == 1
