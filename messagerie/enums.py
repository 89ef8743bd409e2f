from django.db import models


class SenderKind(models.TextChoices):
    """Which side of the conversation wrote a message."""

    PROFESSIONAL = "professional", "professionnel de santé"
    PATIENT = "patient", "patient ou représentant légal"
