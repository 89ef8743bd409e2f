"""The messagerie's rules, at the service and policy level."""

import uuid

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404

from dossier.enums import DocumentCategory
from dossier.models import Document
from espace_sante.access import policy
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from espace_sante.outbox.models import OutboxMessage
from messagerie import services
from messagerie.models import MAX_ATTACHMENTS_BYTES, Attachment, Conversation, Message
from tests.messagerie.factories import PDF, actor_for, pdf_file, reply, start

pytestmark = pytest.mark.django_db


def _files_on_disk(settings) -> list:
    folder = settings.MEDIA_ROOT / "chiffre" / "messagerie"
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


# --- Starting and storing ------------------------------------------------------------------------------------


def test_a_professional_starts_a_conversation_stored_encrypted_and_traced(personas, settings):
    conversation = start(personas.dr_martin, personas.camille, body="Votre glycémie est normale.", files=[pdf_file()])
    message = Message.objects.get(conversation=conversation)
    assert message.body == "Votre glycémie est normale."
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM messagerie_message WHERE id = %s", [message.pk])
        raw = bytes(cursor.fetchone()[0])
    assert b"glyc" not in raw
    attachment = Attachment.objects.get(message=message)
    on_disk = (settings.MEDIA_ROOT / "chiffre" / attachment.file_name).read_bytes()
    assert PDF not in on_disk
    assert services.attachment_content(attachment) == PDF
    actions = set(AuditEvent.objects.filter(patient=personas.camille).values_list("action", flat=True))
    assert {Action.CONVERSATION_STARTED, Action.MESSAGE_SENT} <= actions
    assert not AuditEvent.objects.filter(target_label__icontains="résultats").exists()  # no subject in the log


def test_the_recipient_gets_one_email_after_commit_without_medical_content(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        conversation = start(personas.dr_martin, personas.camille, subject="Biopsie", body="Résultat de biopsie")
        assert mailoutbox == []  # nothing leaves before the commit
    assert len(mailoutbox) == 1
    email = mailoutbox[0]
    assert email.to == ["camille.lefevre@example.org"]
    assert "Biopsie" not in email.subject + email.body and "biopsie" not in email.body
    assert "Martin" not in email.body
    assert "http://testserver/messagerie/" in email.body
    message = conversation.messages.get()
    assert OutboxMessage.objects.filter(dedupe_key=f"messagerie-message:{message.public_id}:0").count() == 1
    # Never twice: notifying the same message again queues nothing.
    with django_capture_on_commit_callbacks(execute=True):
        services._notify(message, conversation)
    assert len(mailoutbox) == 1


def test_the_professional_is_notified_of_an_answer(personas, mailoutbox, django_capture_on_commit_callbacks):
    conversation = start(personas.dr_martin, personas.camille)
    with django_capture_on_commit_callbacks(execute=True):
        reply(conversation, actor_for(personas.camille))
    assert mailoutbox[-1].to == [personas.dr_martin.user.email]
    assert "Merci docteur" not in mailoutbox[-1].body


# --- Who may write to whom -----------------------------------------------------------------------------------


def test_a_patient_writes_only_to_the_medecin_traitant_and_to_professionals_who_wrote(personas):
    camille = actor_for(personas.camille)
    assert policy.messaging_correspondents_for(camille, personas.camille) == [personas.dr_martin]
    with pytest.raises(services.NotAllowed, match="médecin traitant"):
        services.conversation_start(
            patient=personas.camille,
            professional=personas.kine_bernard,
            subject="Question",
            body="Bonjour",
            by=camille,
            client_token=uuid.uuid4(),
        )
    assert not Conversation.objects.exists()
    services.conversation_start(
        patient=personas.camille,
        professional=personas.dr_martin,
        subject="Question",
        body="Bonjour docteur",
        by=camille,
        client_token=uuid.uuid4(),
    )
    kine = start(personas.kine_bernard, personas.camille)
    assert personas.kine_bernard in policy.messaging_correspondents_for(camille, personas.camille)
    services.conversation_end(conversation=kine, by=actor_for(personas.kine_bernard))
    assert personas.kine_bernard not in policy.messaging_correspondents_for(camille, personas.camille)


def test_patients_cannot_write_in_another_patients_conversation(personas):
    conversation = start(personas.dr_martin, personas.camille)
    julien = actor_for(personas.julien)
    with pytest.raises(services.NotAllowed, match="ne vous concerne pas"):
        reply(conversation, julien)
    with pytest.raises(Http404):
        policy.conversation_for(julien, conversation.public_id)
    assert conversation.messages.count() == 1


def test_a_professional_cannot_write_to_a_patient_without_an_active_space(personas):
    with pytest.raises(services.NotAllowed, match="pas de messagerie active"):
        start(personas.dr_martin, personas.emma)  # Emma's space waits for activation


def test_agents_and_other_professionals_never_see_messages(personas):
    conversation = start(personas.dr_martin, personas.camille)
    for actor in (
        actor_for(personas.agent_cpam),
        actor_for(personas.pharmacien_leroy),
        actor_for(personas.sophie),
    ):
        assert not policy.conversations_visible_to(actor).exists()
        assert policy.unread_messages_count(actor) == 0
        with pytest.raises(Http404):
            policy.conversation_for(actor, conversation.public_id)
        attachment_id = uuid.uuid4()
        with pytest.raises(Http404):
            policy.attachment_for(actor, attachment_id)


# --- Ending and blocking -------------------------------------------------------------------------------------


def test_the_professional_ends_and_nobody_can_answer_any_more(personas):
    conversation = start(personas.dr_martin, personas.camille)
    camille = actor_for(personas.camille)
    assert not policy.can_end_conversation(camille, conversation)
    services.conversation_end(conversation=conversation, by=actor_for(personas.dr_martin))
    conversation.refresh_from_db()
    assert conversation.ended_by_label == personas.dr_martin.label
    with pytest.raises(services.NotAllowed, match="Dr Anne Martin, médecin généraliste a mis fin"):
        reply(conversation, camille)
    with pytest.raises(services.NotAllowed):
        reply(conversation, actor_for(personas.dr_martin))
    with pytest.raises(services.NotAllowed, match="déjà terminée"):
        services.conversation_end(conversation=conversation, by=actor_for(personas.dr_martin))
    assert conversation.messages.count() == 1
    assert AuditEvent.objects.filter(action=Action.CONVERSATION_ENDED, patient=personas.camille).count() == 1


def test_a_blocked_professional_gets_a_clear_refusal(personas):
    conversation = start(personas.dr_martin, personas.camille)
    camille = actor_for(personas.camille)
    services.messaging_block(patient=personas.camille, professional=personas.dr_martin, blocked=True, by=camille)
    with pytest.raises(services.NotAllowed, match="ne plus recevoir vos messages"):
        start(personas.dr_martin, personas.camille)
    with pytest.raises(services.NotAllowed, match="ne plus recevoir vos messages"):
        reply(conversation, actor_for(personas.dr_martin))
    assert AuditEvent.objects.filter(action=Action.ACCESS_DENIED, patient=personas.camille).count() == 2
    assert AuditEvent.objects.filter(action=Action.MESSAGING_BLOCKED).count() == 1
    services.messaging_block(patient=personas.camille, professional=personas.dr_martin, blocked=False, by=camille)
    reply(conversation, actor_for(personas.dr_martin), body="Je peux de nouveau vous écrire.")


# --- Legal representatives -----------------------------------------------------------------------------------


def test_a_parent_reads_and_answers_for_a_minor(personas, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        conversation = start(personas.dr_martin, personas.leo)
    assert [m.to for m in mailoutbox] == [["julien.moreau@example.org"]]  # Léo has no login: his father
    julien = actor_for(personas.julien, acting_for=personas.leo)
    assert policy.conversation_for(julien, conversation.public_id) == conversation
    message = reply(conversation, julien)
    assert message.sender_label == "Julien Moreau, représentant légal de Léo Moreau"
    assert personas.dr_martin in policy.messaging_correspondents_for(julien, personas.leo)
    # Julien acting for himself does not see Léo's messages in his own inbox.
    assert not policy.conversations_visible_to(actor_for(personas.julien)).exists()


def test_a_confidential_message_is_hidden_from_representatives(
    personas, mailoutbox, django_capture_on_commit_callbacks
):
    conversation = start(personas.dr_martin, personas.leo, body="Visible par les parents")
    with django_capture_on_commit_callbacks(execute=True):
        reply(conversation, actor_for(personas.dr_martin), body="Secret", hidden_from_representatives=True)
    assert len(mailoutbox) == 0  # nobody but Léo may read it, and Léo has no login
    julien = actor_for(personas.julien, acting_for=personas.leo)
    bodies = [m.body for m in policy.messages_visible_to(julien, conversation)]
    assert bodies == ["Visible par les parents"]
    assert policy.unread_messages_count(julien) == 1
    secret = start(personas.dr_martin, personas.leo, subject="Consultation", hidden_from_representatives=True)
    with pytest.raises(Http404):
        policy.conversation_for(julien, secret.public_id)


def test_only_a_minors_messages_can_be_confidential(personas):
    with pytest.raises(services.NotAllowed, match="mineur"):
        start(personas.dr_martin, personas.camille, hidden_from_representatives=True)


# --- Bad input: nothing half-stored --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"), [("", "ne peut pas être vide"), ("   ", "ne peut pas être vide"), ("x" * 100_000, "dépasse")]
)
def test_empty_or_huge_bodies_are_refused(personas, body, message):
    with pytest.raises(ValidationError, match=message):
        start(personas.dr_martin, personas.camille, body=body)
    assert not Conversation.objects.exists()


def test_attachments_over_ten_megabytes_are_refused_and_nothing_is_stored(personas, settings):
    half = b"%PDF-1.4\n" + b"0" * (MAX_ATTACHMENTS_BYTES // 2)
    with pytest.raises(ValidationError, match="dépasse la limite autorisée"):
        start(personas.dr_martin, personas.camille, files=[pdf_file("a.pdf", half), pdf_file("b.pdf", half)])
    assert not Conversation.objects.exists() and not Message.objects.exists()
    assert _files_on_disk(settings) == []


def test_a_failure_after_the_files_were_written_leaves_nothing(personas, settings, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit down")

    monkeypatch.setattr(services, "_notify", broken)
    with pytest.raises(RuntimeError):
        start(personas.dr_martin, personas.camille, files=[pdf_file()])
    assert not Conversation.objects.exists() and not Attachment.objects.exists()
    assert _files_on_disk(settings) == []


def test_a_double_submit_stores_one_message(personas):
    token = uuid.uuid4()
    conversation = start(personas.dr_martin, personas.camille)
    camille = actor_for(personas.camille)
    services.message_send(conversation=conversation, body="Merci", by=camille, client_token=token)
    with pytest.raises(services.AlreadySent) as sent:
        services.message_send(conversation=conversation, body="Merci", by=camille, client_token=token)
    assert sent.value.conversation == conversation
    assert conversation.messages.count() == 2


# --- Archive, delete, read, save ----------------------------------------------------------------------------


def test_archive_then_a_new_message_brings_the_conversation_back(personas):
    conversation = start(personas.dr_martin, personas.camille)
    camille = actor_for(personas.camille)
    services.conversation_archive(conversation=conversation, archived=True, by=camille)
    assert not policy.conversations_visible_to(camille).filter(patient_archived_at__isnull=True).exists()
    reply(conversation, actor_for(personas.dr_martin))
    assert policy.conversations_visible_to(camille).filter(patient_archived_at__isnull=True).exists()


def test_deleting_is_final_for_the_patients_copy_only(personas):
    conversation = start(personas.dr_martin, personas.camille, files=[pdf_file()])
    attachment = Attachment.objects.get()
    camille, martin = actor_for(personas.camille), actor_for(personas.dr_martin)
    services.conversation_delete_for_patient(conversation=conversation, by=camille)
    assert not policy.conversations_visible_to(camille).exists()
    with pytest.raises(Http404):
        policy.attachment_for(camille, attachment.public_id)
    assert policy.attachment_for(martin, attachment.public_id) == attachment  # the professional keeps theirs
    reply(conversation, martin, body="Un nouveau message")
    assert [m.body for m in policy.messages_visible_to(camille, conversation)] == ["Un nouveau message"]
    with pytest.raises(Http404):
        policy.attachment_for(camille, attachment.public_id)


def test_unread_counts_and_marking_read(personas):
    start(personas.dr_martin, personas.camille)
    conversation = start(personas.kine_bernard, personas.camille)
    reply(conversation, actor_for(personas.kine_bernard))
    camille = actor_for(personas.camille)
    assert policy.unread_messages_count(camille) == 3
    counts = {c.pk: c.unread for c in policy.conversations_with_unread(actor_for(personas.camille))}
    assert counts[conversation.pk] == 2
    assert services.conversation_mark_read(conversation=conversation, by=camille) == 2
    assert policy.unread_messages_count(actor_for(personas.camille)) == 1
    reply(conversation, camille)
    assert policy.unread_messages_count(actor_for(personas.kine_bernard)) == 1


def test_a_received_attachment_is_saved_into_the_documents_once(personas):
    start(personas.dr_martin, personas.camille, files=[pdf_file("ordonnance.pdf")])
    attachment = Attachment.objects.get()
    camille = actor_for(personas.camille)
    document = services.attachment_save_to_documents(attachment=attachment, by=camille)
    assert document.category == DocumentCategory.AUTRES
    assert document.title == "ordonnance.pdf"
    assert "Dr Anne Martin" in document.author_display
    assert policy.documents_visible_to(camille, personas.camille).filter(pk=document.pk).exists()
    with pytest.raises(services.NotAllowed, match="déjà enregistrée"):
        services.attachment_save_to_documents(attachment=attachment, by=camille)
    assert Document.objects.count() == 1
    assert AuditEvent.objects.filter(action=Action.ATTACHMENT_SAVED).count() == 1


def test_a_professional_cannot_save_into_the_patients_documents(personas):
    start(personas.dr_martin, personas.camille, files=[pdf_file()])
    with pytest.raises(services.NotAllowed):
        services.attachment_save_to_documents(attachment=Attachment.objects.get(), by=actor_for(personas.dr_martin))
