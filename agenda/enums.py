from django.db import models


class EntryKind(models.TextChoices):
    APPOINTMENT = "appointment", "rendez-vous"
    REMINDER = "reminder", "rappel"


class EntryStatus(models.TextChoices):
    PLANNED = "planned", "prévu"
    CANCELLED = "cancelled", "annulé"


class EntrySource(models.TextChoices):
    PATIENT = "patient", "ajouté par vous"
    SERVICE = "service", "transmis par un service connecté"


class ReminderKind(models.TextChoices):
    DAY_BEFORE = "day_before", "la veille"
    SAME_MORNING = "same_morning", "le matin même"


class FeedDetail(models.TextChoices):
    """How much the private subscription feed shows (the patient chooses; titles only by default)."""

    BUSY = "busy", "Aucun détail : « Rendez-vous santé » ou « Rappel santé »"
    TITLES = "titles", "Les titres seulement (recommandé)"
    FULL = "full", "Les titres, adresses et notes"


class PreventionState(models.TextChoices):
    TO_PLAN = "to_plan", "à planifier"
    DONE = "done", "fait"
    NOT_DONE = "not_done", "non fait"
    NOT_CONCERNED = "not_concerned", "non concerné"


class PreventionCategory(models.TextChoices):
    VACCINATION = "vaccination", "vaccination"
    CHILD_EXAM = "child_exam", "examen de l’enfant"
    DENTAL = "dental", "examen bucco-dentaire"
    SCREENING = "screening", "dépistage organisé"
    CHECKUP = "checkup", "bilan de prévention"
