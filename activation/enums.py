from django.db import models


class SpaceStatus(models.TextChoices):
    INFORMED = "informed", "informé (délai d’opposition en cours)"
    OPEN = "open", "ouvert automatiquement"
    ACTIVE = "active", "activé"
    OPPOSED = "opposed", "opposition"
    CLOSED = "closed", "clôturé (archivé)"
    DELETED = "deleted", "supprimé"


class CodeChannel(models.TextChoices):
    EMAIL = "email", "e-mail"
    LETTER = "letter", "courrier"
    SMS = "sms", "SMS"


class CodeState(models.TextChoices):
    VALID = "valid", "valide"
    USED = "used", "utilisé"
    EXPIRED = "expired", "expiré"
    VOIDED = "voided", "annulé"


class OppositionChannel(models.TextChoices):
    ONLINE = "online", "en ligne"
    PHONE = "phone", "par téléphone (conseiller)"
    DESK = "desk", "au guichet (conseiller)"
    ACCOUNT = "account", "depuis le compte du représentant légal"


class ChunkStatus(models.TextChoices):
    PENDING = "pending", "à traiter"
    DONE = "done", "terminé"


class RunStatus(models.TextChoices):
    RUNNING = "running", "en cours"
    DONE = "done", "terminée"
