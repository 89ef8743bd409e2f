from django.db import models


class Channel(models.TextChoices):
    EMAIL = "email", "e-mail"
    SMS = "sms", "SMS"


class OutboxStatus(models.TextChoices):
    QUEUED = "queued", "en attente"
    SENDING = "sending", "en cours d’envoi"
    SENT = "sent", "envoyé"
    FAILED = "failed", "échec"
