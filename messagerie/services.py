"""Every write of the messagerie: conversations, messages and attachments, reading, ending, archiving, deleting,
saving an attachment into the documents, blocking a professional. Each is atomic and audited."""

import uuid
from collections.abc import Sequence

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from accounts.models import LegalRepresentation, Patient, Professional
from dossier.enums import AuthorKind, DocumentCategory
from dossier.files import CheckedFile
from dossier.services import document_add_generated
from espace_sante.access import policy
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.crypto.storage import encrypted_storage, files_removed_on_failure
from espace_sante.outbox.services import email_enqueue
from messagerie.enums import SenderKind
from messagerie.models import (
    MAX_ATTACHMENTS,
    MAX_ATTACHMENTS_BYTES,
    MAX_BODY_CHARS,
    MAX_SUBJECT_CHARS,
    Attachment,
    Conversation,
    Message,
    MessagingBlock,
)


class NotAllowed(Exception):
    """The rules forbid this (French message in args[0])."""


class AlreadySent(Exception):
    """The same form was submitted twice: the message exists already, in `conversation`."""

    def __init__(self, conversation: Conversation) -> None:
        super().__init__("Ce message a déjà été envoyé.")
        self.conversation = conversation


# --- Writing ------------------------------------------------------------------------------------------------


def _clean_text(value: str, *, label: str, limit: int) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError(f"{label} ne peut pas être vide.")
    if len(value) > limit:
        raise ValidationError(f"{label} dépasse {limit:,} caractères.".replace(",", "\u202f"))
    return value


def _check_files(files: Sequence[CheckedFile]) -> None:
    if len(files) > MAX_ATTACHMENTS:
        raise ValidationError(f"Un message peut porter au plus {MAX_ATTACHMENTS} pièces jointes.")
    if sum(len(f.content) for f in files) > MAX_ATTACHMENTS_BYTES:
        raise ValidationError(
            f"La taille des pièces jointes dépasse la limite autorisée ({MAX_ATTACHMENTS_BYTES // (1024 * 1024)} Mo "
            "par message)."
        )


def _sender_label(by: Actor, patient: Patient) -> str:
    if by.is_verified_professional:
        return by.professional.label
    own = by.patient
    if own is not None and own.pk != patient.pk:
        return f"{own.display_name}, représentant légal de {patient.display_name}"
    return patient.display_name


def _sender_kind(by: Actor, patient: Patient) -> str:
    if by.is_verified_professional:
        return SenderKind.PROFESSIONAL
    if by.acts_for(patient):
        return SenderKind.PATIENT
    raise NotAllowed("Cette conversation ne vous concerne pas.")


def _already_sent(client_token: uuid.UUID) -> None:
    existing = Message.objects.select_related("conversation").filter(client_token=client_token).first()
    if existing is not None:
        raise AlreadySent(existing.conversation)


def _write(
    *,
    conversation: Conversation | None,
    new_conversation: dict | None,
    body: str,
    files: Sequence[CheckedFile],
    by: Actor,
    hidden_from_representatives: bool,
    client_token: uuid.UUID,
) -> Message:
    """Store the conversation (if new), the message and its files in one go; files are removed on failure."""
    _already_sent(client_token)
    storage = encrypted_storage()
    try:
        with files_removed_on_failure() as saved, transaction.atomic():
            if conversation is None:
                conversation = Conversation(**new_conversation)
                conversation.full_clean()
                conversation.save()
            patient = conversation.patient
            now = timezone.now()
            message = Message(
                conversation=conversation,
                sender_kind=_sender_kind(by, patient),
                sender_user=by.user,
                sender_label=_sender_label(by, patient)[:200],
                body=body,
                sent_at=now,
                hidden_from_representatives=hidden_from_representatives,
                client_token=client_token,
            )
            message.save()
            for file in files:
                public_id = uuid.uuid4()
                name = storage.save(f"messagerie/{patient.public_id}/{public_id}", ContentFile(file.content))
                saved.append(name)
                Attachment.objects.create(
                    public_id=public_id,
                    message=message,
                    file_name=name,
                    original_filename=file.filename[:150],
                    content_type=file.content_type,
                    size=len(file.content),
                )
            # A new message brings an archived conversation back to the patient's inbox.
            Conversation.objects.filter(pk=conversation.pk).update(last_message_at=now, patient_archived_at=None)
            conversation.last_message_at, conversation.patient_archived_at = now, None
            record(
                Action.MESSAGE_SENT,
                actor=by,
                patient=patient,
                target=message,
                target_label="message de la messagerie",
                attachments=len(files),
            )
            _notify(message, conversation)
    except IntegrityError:
        _already_sent(client_token)  # a concurrent double submit won the race
        raise
    return message


def conversation_start(
    *,
    patient: Patient,
    professional: Professional,
    subject: str,
    body: str,
    files: Sequence[CheckedFile] = (),
    by: Actor,
    client_token: uuid.UUID,
    hidden_from_representatives: bool = False,
) -> Conversation:
    """Start a conversation. A professional writes to any patient with an active space who did not block them;
    a patient (or representative) only to their médecin traitant or to a professional who already wrote to
    them and did not end the exchange. `hidden_from_representatives`: a minor's confidential conversation."""
    subject = _clean_text(subject, label="L’objet", limit=MAX_SUBJECT_CHARS)
    body = _clean_text(body, label="Le message", limit=MAX_BODY_CHARS)
    _check_files(files)
    if by.is_verified_professional:
        if professional.pk != by.professional.pk:
            raise NotAllowed("Vous ne pouvez écrire qu’en votre nom.")
        if refusal := policy.professional_write_refusal(by, patient):
            if policy.is_messaging_blocked(patient, professional):
                record(Action.ACCESS_DENIED, actor=by, patient=patient, what="messagerie", blocked=True)
            raise NotAllowed(refusal)
        started_by = SenderKind.PROFESSIONAL
    elif by.acts_for(patient):
        if professional not in policy.messaging_correspondents_for(by, patient):
            raise NotAllowed(
                "Vous pouvez écrire à votre médecin traitant et aux professionnels qui vous ont déjà écrit, "
                "tant qu’ils n’ont pas mis fin à l’échange."
            )
        started_by = SenderKind.PATIENT
    else:
        raise NotAllowed("Vous ne pouvez pas écrire à ce patient.")
    if hidden_from_representatives and not (by.is_verified_professional and patient.is_minor):
        raise NotAllowed("Seul un professionnel peut rendre un message confidentiel pour un patient mineur.")
    with transaction.atomic():
        message = _write(
            conversation=None,
            new_conversation={
                "patient": patient,
                "professional": professional,
                "subject": subject,
                "started_by": started_by,
                "hidden_from_representatives": hidden_from_representatives,
            },
            body=body,
            files=files,
            by=by,
            hidden_from_representatives=hidden_from_representatives,
            client_token=client_token,
        )
        conversation = message.conversation
        record(
            Action.CONVERSATION_STARTED,
            actor=by,
            patient=patient,
            target=conversation,
        )
    return conversation


def message_send(
    *,
    conversation: Conversation,
    body: str,
    files: Sequence[CheckedFile] = (),
    by: Actor,
    client_token: uuid.UUID,
    hidden_from_representatives: bool = False,
) -> Message:
    """Answer in a conversation the actor takes part in, unless it was ended or the patient blocked the
    professional."""
    body = _clean_text(body, label="Le message", limit=MAX_BODY_CHARS)
    _check_files(files)
    _already_sent(client_token)
    with transaction.atomic():
        # Lock the row: an end arriving at the same time cannot slip between the check and the write.
        conversation = (
            Conversation.objects.select_for_update(of=("self",))
            .select_related("patient__space", "professional__user")
            .get(pk=conversation.pk)
        )
        refusal = policy.reply_refusal(by, conversation)
        if refusal is None:
            return _reply(conversation, body, files, by, hidden_from_representatives, client_token)
    # Recorded outside the atomic block (a refusal raised inside would roll the trace back): the patient
    # sees that a blocked professional tried to write.
    if by.is_verified_professional and policy.is_messaging_blocked(conversation.patient, conversation.professional):
        record(Action.ACCESS_DENIED, actor=by, patient=conversation.patient, what="messagerie", blocked=True)
    raise NotAllowed(refusal)


def _reply(conversation, body, files, by, hidden_from_representatives, client_token) -> Message:
    if hidden_from_representatives and not (by.is_verified_professional and conversation.patient.is_minor):
        raise NotAllowed("Seul un professionnel peut rendre un message confidentiel pour un patient mineur.")
    return _write(
        conversation=conversation,
        new_conversation=None,
        body=body,
        files=files,
        by=by,
        hidden_from_representatives=hidden_from_representatives,
        client_token=client_token,
    )


# --- Notifications (no medical content) ---------------------------------------------------------------------


def _patient_recipients(patient: Patient, *, confidential: bool) -> list[str]:
    """The patient's own address, and unless the message is confidential, their legal representatives'."""
    addresses = []
    if patient.user_id and patient.user.email:
        addresses.append(patient.user.email)
    if not confidential:
        links = (
            LegalRepresentation.objects.active()
            .filter(represented=patient)
            .select_related("representative__user")
            .order_by("pk")
        )
        for link in links:
            representative = link.representative
            address = representative.user.email if representative.user_id else representative.email
            if address and address not in addresses:
                addresses.append(address)
    return addresses


def _notify(message: Message, conversation: Conversation) -> None:
    """E-mail the other side, inviting them to log in. Queued in the outbox with this transaction (sent after
    commit), once per message and recipient."""
    patient = conversation.patient
    if message.sender_kind == SenderKind.PATIENT:
        recipients = [conversation.professional.user.email] if conversation.professional.user.email else []
        template, path = "emails/messagerie/new_message_pro.txt", reverse("messagerie_pro:index")
    else:
        confidential = message.hidden_from_representatives or conversation.hidden_from_representatives
        recipients = _patient_recipients(patient, confidential=confidential)
        template, path = "emails/messagerie/new_message.txt", reverse("messagerie:index")
    body = render_to_string(template, {"patient": patient, "url": settings.SITE_URL.rstrip("/") + path})
    for index, to in enumerate(recipients):
        email_enqueue(
            to=to,
            subject="Nouveau message dans votre messagerie de santé",
            body=body,
            dedupe_key=f"messagerie-message:{message.public_id}:{index}",
        )


# --- Reading, ending, archiving, deleting -------------------------------------------------------------------


@transaction.atomic
def conversation_mark_read(*, conversation: Conversation, by: Actor) -> int:
    """Mark as read the messages of the other side that `by` has just been shown."""
    mine = SenderKind.PROFESSIONAL if by.is_verified_professional else SenderKind.PATIENT
    shown = policy.messages_visible_to(by, conversation).exclude(sender_kind=mine).filter(read_at__isnull=True)
    return Message.objects.filter(pk__in=shown.values("pk")).update(read_at=timezone.now())


@transaction.atomic
def conversation_end(*, conversation: Conversation, by: Actor) -> None:
    """The professional ends the exchange: the patient sees who ended it and can no longer answer."""
    if not policy.can_end_conversation(by, conversation):
        raise NotAllowed("Cette conversation est déjà terminée.")
    label = by.professional.label[:200]
    now = timezone.now()
    updated = Conversation.objects.filter(pk=conversation.pk, ended_at__isnull=True).update(
        ended_at=now, ended_by_label=label
    )
    if not updated:
        raise NotAllowed("Cette conversation est déjà terminée.")
    conversation.ended_at, conversation.ended_by_label = now, label
    record(
        Action.CONVERSATION_ENDED,
        actor=by,
        patient=conversation.patient,
        target=conversation,
    )


def _patient_side(conversation: Conversation, by: Actor) -> None:
    if not by.acts_for(conversation.patient):
        raise NotAllowed("Seul le patient ou son représentant légal peut faire cela.")


@transaction.atomic
def conversation_archive(*, conversation: Conversation, archived: bool, by: Actor) -> None:
    """Archive (or bring back) the patient's copy. A new message brings it back by itself."""
    _patient_side(conversation, by)
    value = timezone.now() if archived else None
    current = Q(patient_archived_at__isnull=True) if archived else Q(patient_archived_at__isnull=False)
    if Conversation.objects.filter(current, pk=conversation.pk).update(patient_archived_at=value):
        action = Action.CONVERSATION_ARCHIVED if archived else Action.CONVERSATION_UNARCHIVED
        record(action, actor=by, patient=conversation.patient, target=conversation)
    conversation.patient_archived_at = value


@transaction.atomic
def conversation_delete_for_patient(*, conversation: Conversation, by: Actor) -> None:
    """Delete the patient's copy for good: every message (and attachment) sent until now disappears from the
    patient's side; the professional keeps their copy. A later message from the professional shows alone."""
    _patient_side(conversation, by)
    now = timezone.now()
    Conversation.objects.filter(pk=conversation.pk).update(patient_deleted_at=now, patient_archived_at=None)
    conversation.patient_deleted_at, conversation.patient_archived_at = now, None
    record(Action.CONVERSATION_DELETED, actor=by, patient=conversation.patient, target=conversation)


# --- Attachments --------------------------------------------------------------------------------------------


def attachment_content(attachment: Attachment) -> bytes:
    with encrypted_storage().open(attachment.file_name) as handle:
        return handle.read()


def attachment_save_to_documents(*, attachment: Attachment, by: Actor):
    """Copy a received attachment into the patient's documents (once), as a document the patient added."""
    conversation = attachment.message.conversation
    _patient_side(conversation, by)
    if attachment.saved_document_id is not None:
        raise NotAllowed("Cette pièce jointe est déjà enregistrée dans vos documents.")
    with transaction.atomic():
        document_id = uuid.uuid4()
        claimed = Attachment.objects.filter(pk=attachment.pk, saved_document_id__isnull=True).update(
            saved_document_id=document_id
        )
        if not claimed:
            raise NotAllowed("Cette pièce jointe est déjà enregistrée dans vos documents.")
        document = document_add_generated(
            patient=conversation.patient,
            by=by,
            content=attachment_content(attachment),
            filename=attachment.original_filename,
            content_type=attachment.content_type,
            title=attachment.original_filename,
            category=DocumentCategory.AUTRES,
            author_kind=AuthorKind.PATIENT,
            author_label=f"Pièce jointe d’un message de {attachment.message.sender_label}"[:200],
            care_date=timezone.localdate(attachment.message.sent_at),
            # A confidential message's file stays kept from the representatives once in the documents.
            hidden_from_representatives=attachment.message.hidden_from_representatives
            or conversation.hidden_from_representatives,
        )
        Attachment.objects.filter(pk=attachment.pk).update(saved_document_id=document.public_id)
        attachment.saved_document_id = document.public_id
        record(
            Action.ATTACHMENT_SAVED,
            actor=by,
            patient=conversation.patient,
            target=attachment,
            target_label="pièce jointe de la messagerie",
        )
    return document


def attachment_from_document(document) -> CheckedFile:
    """A document of the patient's record, as a file to attach (the caller fetched it through the policy)."""
    from dossier.services import document_content

    return CheckedFile(
        content=document_content(document), content_type=document.content_type, filename=document.original_filename
    )


# --- Blocking -----------------------------------------------------------------------------------------------


@transaction.atomic
def messaging_block(*, patient: Patient, professional: Professional, blocked: bool, by: Actor) -> None:
    """The patient refuses (or accepts again) messages from a professional."""
    if not by.acts_for(patient):
        raise NotAllowed("Seul le patient ou son représentant légal peut faire cela.")
    if blocked:
        _, created = MessagingBlock.objects.get_or_create(patient=patient, professional=professional)
        if created:
            record(Action.MESSAGING_BLOCKED, actor=by, patient=patient, target=professional)
    elif MessagingBlock.objects.filter(patient=patient, professional=professional).delete()[0]:
        record(Action.MESSAGING_UNBLOCKED, actor=by, patient=patient, target=professional)
