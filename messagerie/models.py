"""Conversations between one professional and one patient, their messages (encrypted) and attachments.

The patient's copy can be archived and deleted; deletion hides every message sent before it for good on the
patient side, while the professional keeps their copy. Message bodies are sealed with EncryptedTextField and
attachment files with the encrypted storage.
"""

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from espace_sante.crypto.fields import EncryptedTextField
from messagerie.enums import SenderKind

MAX_BODY_CHARS = 10_000
MAX_SUBJECT_CHARS = 150
MAX_ATTACHMENTS_BYTES = 10 * 1024 * 1024  # per message, all attachments together
MAX_ATTACHMENTS = 10


class ConversationQuerySet(models.QuerySet):
    def for_listing(self) -> "ConversationQuerySet":
        return self.select_related("professional__user", "patient").order_by("-last_message_at", "-pk")


class Conversation(models.Model):
    """An exchange between one professional and one patient (a minor's or protected adult's included)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # messages go with the space's archive, never by cascade
        related_name="conversations",
        verbose_name="patient",
    )
    professional = models.ForeignKey(
        "accounts.Professional",
        on_delete=models.PROTECT,  # the professional's copy stays explainable
        related_name="conversations",
        verbose_name="professionnel",
    )
    subject = models.CharField("objet", max_length=MAX_SUBJECT_CHARS)
    started_by = models.CharField("démarrée par", max_length=16, choices=SenderKind.choices)
    created_at = models.DateTimeField("créée le", default=timezone.now)
    last_message_at = models.DateTimeField("dernier message le", default=timezone.now)
    hidden_from_representatives = models.BooleanField("confidentielle (mineur)", default=False)
    ended_at = models.DateTimeField("terminée le", null=True, blank=True)
    ended_by_label = models.CharField("terminée par", max_length=200, blank=True)
    patient_archived_at = models.DateTimeField("archivée par le patient le", null=True, blank=True)
    patient_deleted_at = models.DateTimeField("supprimée par le patient le", null=True, blank=True)

    objects = ConversationQuerySet.as_manager()

    class Meta:
        verbose_name = "conversation"
        verbose_name_plural = "conversations"
        indexes = [
            models.Index(fields=["patient", "-last_message_at"], name="conversation_patient_recent"),
            models.Index(fields=["professional", "-last_message_at"], name="conversation_pro_recent"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(started_by__in=SenderKind.values), name="conversation_starter_known"),
            models.CheckConstraint(
                condition=Q(ended_at__isnull=True) | ~Q(ended_by_label=""), name="conversation_end_named"
            ),
        ]

    def __str__(self) -> str:
        # Never the subject: this label goes to the access history, which holds no medical content.
        return "conversation de la messagerie"

    @property
    def is_ended(self) -> bool:
        return self.ended_at is not None


class Message(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages", verbose_name="conversation"
    )  # a message only exists in its conversation
    sender_kind = models.CharField("côté de l’expéditeur", max_length=16, choices=SenderKind.choices)
    sender_user = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # the label below and the audit log keep who wrote
        related_name="+",
        verbose_name="compte de l’expéditeur",
    )
    sender_label = models.CharField("expéditeur", max_length=200)
    body = EncryptedTextField("message")
    sent_at = models.DateTimeField("envoyé le", default=timezone.now)
    read_at = models.DateTimeField("lu par le destinataire le", null=True, blank=True)
    hidden_from_representatives = models.BooleanField("non visible des représentants légaux", default=False)
    client_token = models.UUIDField("jeton d’envoi", unique=True)  # a double submit sends the same token

    class Meta:
        verbose_name = "message"
        verbose_name_plural = "messages"
        indexes = [
            models.Index(fields=["conversation", "sent_at"], name="message_conversation_order"),
            models.Index(
                fields=["conversation", "sender_kind"], condition=Q(read_at__isnull=True), name="message_unread"
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(sender_kind__in=SenderKind.values), name="message_sender_known"),
        ]

    def __str__(self) -> str:
        return "message de la messagerie"


class Attachment(models.Model):
    """A file sent with a message, encrypted at rest under its own data key."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="attachments", verbose_name="message"
    )  # a file only exists with its message
    file_name = models.CharField("fichier chiffré", max_length=200)
    original_filename = models.CharField("nom du fichier", max_length=150)
    content_type = models.CharField("type de contenu", max_length=64)
    size = models.PositiveIntegerField("taille (octets)")
    saved_document_id = models.UUIDField("enregistrée dans les documents sous", null=True, blank=True)

    class Meta:
        verbose_name = "pièce jointe"
        verbose_name_plural = "pièces jointes"

    def __str__(self) -> str:
        return self.original_filename


class MessagingBlock(models.Model):
    """A professional the patient no longer accepts messages from."""

    patient = models.ForeignKey(
        "accounts.Patient", on_delete=models.CASCADE, related_name="messaging_blocks", verbose_name="patient"
    )  # a setting of the patient's space
    professional = models.ForeignKey(
        "accounts.Professional",
        on_delete=models.CASCADE,  # leaving the register ends every block
        related_name="messaging_blocks",
        verbose_name="professionnel",
    )
    blocked_at = models.DateTimeField("bloqué le", default=timezone.now)

    class Meta:
        verbose_name = "blocage de la messagerie"
        verbose_name_plural = "blocages de la messagerie"
        constraints = [
            models.UniqueConstraint(fields=["patient", "professional"], name="messaging_block_unique"),
        ]

    def __str__(self) -> str:
        return "blocage de la messagerie"
