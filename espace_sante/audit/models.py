from django.conf import settings
from django.db import models
from django.utils import timezone

from espace_sante.audit.actions import Action, ActorRole


class AuditEventQuerySet(models.QuerySet):
    def for_patient(self, patient) -> "AuditEventQuerySet":
        return self.filter(patient=patient).order_by("-occurred_at", "-pk")


class AuditEvent(models.Model):
    """One append-only line of the access log. Never holds medical content (see audit/log.py `record`).

    Foreign keys carry no database constraint: the log outlives the users and patients it names, and
    keeps `actor_label` as it read when the event happened. The object is `target_type` + `target_id`;
    `target_label` is only its kind, a professional's name or a fixed label: what a reader is shown is
    resolved when the history is read (`policy.history_entries_for`), for that reader.
    """

    occurred_at = models.DateTimeField("date", default=timezone.now, db_index=True)
    # No `choices` here: the list of actions grows with every feature and must not need a migration.
    action = models.CharField("action", max_length=64)
    actor_role = models.CharField("rôle", max_length=16, choices=ActorRole.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.DO_NOTHING,  # the log outlives the account
        db_constraint=False,
        verbose_name="compte",
    )
    actor_label = models.CharField("auteur", max_length=200)
    acting_for = models.ForeignKey(
        "accounts.Patient",
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.DO_NOTHING,  # the log outlives the profile
        db_constraint=False,
        verbose_name="agissant pour",
    )
    patient = models.ForeignKey(
        "accounts.Patient",
        null=True,
        blank=True,
        related_name="+",
        on_delete=models.DO_NOTHING,  # the log outlives the profile
        db_constraint=False,
        verbose_name="patient concerné",
    )
    target_type = models.CharField("type d’objet", max_length=64, blank=True)
    target_id = models.CharField("identifiant d’objet", max_length=64, blank=True)
    target_label = models.CharField("objet", max_length=200, blank=True)
    request_id = models.UUIDField("requête", null=True, blank=True)
    ip_address = models.GenericIPAddressField("adresse IP", null=True, blank=True)
    data = models.JSONField("détails", default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        verbose_name = "événement du journal"
        verbose_name_plural = "événements du journal"
        indexes = [models.Index(fields=["patient", "-occurred_at"], name="audit_patient_time")]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label} {self.action_label}"

    def save(self, *args, **kwargs) -> None:
        if not self._state.adding:
            raise RuntimeError("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("Audit events are append-only.")

    @property
    def action_label(self) -> str:
        try:
            return Action(self.action).label
        except ValueError:
            return self.action

    @property
    def public_actor_label(self) -> str:
        """How the patient sees who acted: agents are not named to the patient."""
        if self.actor_role == ActorRole.AGENT:
            return "Un conseiller de l’Assurance Maladie"
        return self.actor_label
