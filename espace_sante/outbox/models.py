import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from espace_sante.crypto.fields import EncryptedTextField
from espace_sante.outbox.enums import Channel, OutboxStatus


class OutboxMessage(models.Model):
    """A message to send, written in the same transaction as the change that causes it.

    Nothing is lost when the broker or a worker is down: delivery tasks claim rows, send, and mark them
    sent; a sweeper puts back rows stuck in SENDING. The body may hold a provisional code, so it is
    encrypted and wiped once sent. `dedupe_key` (unique) makes "send this once" a database rule.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    channel = models.CharField("canal", max_length=8, choices=Channel.choices)
    recipient = models.CharField("destinataire", max_length=254)
    subject = models.CharField("objet", max_length=200, blank=True)
    body = EncryptedTextField("contenu", null=True)
    attachment_name = models.CharField("pièce jointe", max_length=200, blank=True)  # in the encrypted storage
    attachment_filename = models.CharField("nom de la pièce jointe", max_length=100, blank=True)
    dedupe_key = models.CharField("clé d’unicité", max_length=100, null=True, blank=True)  # unique: see Meta
    status = models.CharField("statut", max_length=8, choices=OutboxStatus.choices, default=OutboxStatus.QUEUED)
    created_at = models.DateTimeField("créé le", default=timezone.now)
    claimed_at = models.DateTimeField("pris en charge le", null=True, blank=True)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    last_error = models.CharField("dernière erreur", max_length=200, blank=True)

    class Meta:
        verbose_name = "message sortant"
        verbose_name_plural = "messages sortants"
        indexes = [
            models.Index(fields=["status", "created_at"], name="outbox_status_created"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=OutboxStatus.values), name="outbox_status_known"),
            models.CheckConstraint(condition=Q(channel__in=Channel.values), name="outbox_channel_known"),
            # Not unique=True, which adds an unused LIKE index (bench/README.md, fix 6).
            models.UniqueConstraint(fields=["dedupe_key"], name="outbox_dedupe_key_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} {self.public_id}"

    @property
    def message_id(self) -> str:
        """Stable Message-ID: a relay that sees the same message twice (after a crash) can drop it."""
        return f"<{self.public_id}@monespacesante.example>"
