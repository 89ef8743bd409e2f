import uuid
import zoneinfo

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from agenda.enums import EntryKind, EntrySource, EntryStatus, FeedDetail, PreventionState
from espace_sante.crypto.fields import EncryptedTextField
from espace_sante.lib.models import TimestampedModel

PARIS = zoneinfo.ZoneInfo("Europe/Paris")
NOTE_MAX_LENGTH = 2000


class AgendaEntryQuerySet(models.QuerySet):
    def planned(self) -> "AgendaEntryQuerySet":
        return self.filter(status=EntryStatus.PLANNED)

    def upcoming(self) -> "AgendaEntryQuerySet":
        """Planned entries not over yet (an all-day entry stays upcoming until its day is over)."""
        now = timezone.now()
        return (
            self.planned()
            .filter(Q(ends_at__gt=now) | Q(ends_at__isnull=True, starts_at__gte=now))
            .order_by("starts_at")
        )

    def between(self, start, end) -> "AgendaEntryQuerySet":
        return self.filter(starts_at__gte=start, starts_at__lt=end).order_by("starts_at")


class AgendaEntry(TimestampedModel):
    """An appointment (with a professional or a health service) or a free reminder, in a patient's agenda.

    Entered by the patient or a representative, or sent by a connected service through the FHIR API
    (`source` SERVICE, `source_service` names it when known, `source_identifier` is its Appointment.identifier).
    `version` and `updated_at` are FHIR's meta.versionId and meta.lastUpdated.

    Times are stored in UTC and always shown in Europe/Paris. An all-day entry (a reminder without a time)
    starts at local midnight and ends at the next local midnight.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # a closed space is archived; its agenda never cascades away silently
        related_name="agenda_entries",
        verbose_name="patient",
    )
    kind = models.CharField("type", max_length=16, choices=EntryKind.choices)
    status = models.CharField("statut", max_length=16, choices=EntryStatus.choices, default=EntryStatus.PLANNED)
    source = models.CharField("origine", max_length=16, choices=EntrySource.choices, default=EntrySource.PATIENT)
    title = models.CharField("titre", max_length=150, blank=True)
    professional_name = models.CharField("professionnel ou service", max_length=150, blank=True)
    specialty = models.CharField("spécialité", max_length=100, blank=True)
    address = models.CharField("adresse", max_length=250, blank=True)
    starts_at = models.DateTimeField("début", db_index=True)
    ends_at = models.DateTimeField("fin", null=True, blank=True)
    all_day = models.BooleanField("toute la journée", default=False)
    note = EncryptedTextField("note", blank=True, default="")
    source_service = models.ForeignKey(
        "catalogue.Service",
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # the entry keeps naming who sent it; services are dereferenced, not deleted
        related_name="+",
        verbose_name="transmis par le service",
    )
    source_identifier = models.CharField("identifiant chez le service", max_length=200, blank=True, default="")
    version = models.PositiveIntegerField("version", default=1)

    objects = AgendaEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "événement de l’agenda"
        verbose_name_plural = "événements de l’agenda"
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EntryKind.values), name="agenda_entry_kind_known"),
            models.CheckConstraint(condition=Q(status__in=EntryStatus.values), name="agenda_entry_status_known"),
            models.CheckConstraint(condition=Q(source__in=EntrySource.values), name="agenda_entry_source_known"),
            models.CheckConstraint(
                condition=Q(ends_at__isnull=True) | Q(ends_at__gt=F("starts_at")), name="agenda_entry_ends_after_start"
            ),
            models.CheckConstraint(
                condition=Q(kind=EntryKind.APPOINTMENT, professional_name__gt="")
                | Q(kind=EntryKind.REMINDER, title__gt=""),
                name="agenda_entry_named",
            ),
            models.CheckConstraint(
                condition=Q(source_service__isnull=True) | Q(source=EntrySource.SERVICE),
                name="agenda_entry_service_source",
            ),
            models.UniqueConstraint(
                fields=["patient", "source_service", "source_identifier"],
                condition=~Q(source_identifier=""),
                name="agenda_entry_source_identifier_unique",
            ),
            models.CheckConstraint(
                condition=Q(source_service__isnull=False) | Q(source_identifier=""),
                name="agenda_entry_identifier_needs_service",
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="agenda_entry_version_positive"),
        ]

    def __str__(self) -> str:
        # Shown in the access history: the kind and the date, never the medical content.
        return f"{self.get_kind_display()} du {self.local_start:%d/%m/%Y}"

    @property
    def local_start(self):
        return timezone.localtime(self.starts_at, PARIS)

    @property
    def local_end(self):
        return timezone.localtime(self.ends_at, PARIS) if self.ends_at else None

    @property
    def summary(self) -> str:
        """The title a person reads: the reminder's title, or the appointment's professional and specialty."""
        if self.kind == EntryKind.REMINDER:
            return self.title
        if self.specialty:
            return f"Rendez-vous : {self.professional_name} ({self.specialty})"
        return f"Rendez-vous : {self.professional_name}"

    @property
    def short_summary(self) -> str:
        """The reminder's title, or "Rendez-vous : <professional>" (tiles, feed titles)."""
        if self.kind == EntryKind.REMINDER:
            return self.title
        return f"Rendez-vous : {self.professional_name}"

    @property
    def source_label(self) -> str:
        """ "ajouté par <service>" for an entry a connected service sent, empty for the patient's own."""
        if self.source_service_id:
            return f"ajouté par {self.source_service.name}"
        return "transmis par un service connecté" if self.source == EntrySource.SERVICE else ""

    @property
    def is_cancelled(self) -> bool:
        return self.status == EntryStatus.CANCELLED

    @property
    def is_past(self) -> bool:
        end = self.ends_at or self.starts_at
        return end <= timezone.now()


class AgendaSettings(TimestampedModel):
    """A profile's agenda choices: reminders, prevention suggestions, and the private subscription feed.

    The feed's secret token is shown once; only its keyed hash is kept. The feed belongs to the account
    holder's own profile and covers the profiles they currently represent.
    """

    patient = models.OneToOneField(
        "accounts.Patient",
        on_delete=models.CASCADE,  # settings mean nothing without their profile
        related_name="agenda_settings",
        verbose_name="patient",
    )
    reminders_enabled = models.BooleanField("rappels par e-mail et SMS", default=True)
    prevention_enabled = models.BooleanField("suggestions de prévention", default=True)
    feed_token_hash = models.CharField("empreinte du lien d’abonnement", max_length=64, blank=True, db_index=True)
    feed_created_at = models.DateTimeField("lien d’abonnement créé le", null=True, blank=True)
    feed_last_read_at = models.DateTimeField("dernière lecture du lien d’abonnement", null=True, blank=True)
    feed_detail = models.CharField(
        "détail du lien d’abonnement", max_length=16, choices=FeedDetail.choices, default=FeedDetail.TITLES
    )

    class Meta:
        verbose_name = "réglages de l’agenda"
        verbose_name_plural = "réglages de l’agenda"
        constraints = [
            models.CheckConstraint(condition=Q(feed_detail__in=FeedDetail.values), name="agenda_feed_detail_known"),
            models.UniqueConstraint(
                fields=["feed_token_hash"], condition=~Q(feed_token_hash=""), name="agenda_feed_token_unique"
            ),
        ]

    def __str__(self) -> str:
        return "réglages de l’agenda"

    @property
    def has_feed(self) -> bool:
        return bool(self.feed_token_hash)


class PreventionItem(TimestampedModel):
    """The state a patient set on one suggested prevention milestone (a rule code from agenda.prevention)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # same as agenda entries
        related_name="prevention_items",
        verbose_name="patient",
    )
    code = models.CharField("code de la recommandation", max_length=64)
    state = models.CharField("état", max_length=16, choices=PreventionState.choices, default=PreventionState.TO_PLAN)
    done_on = models.DateField("fait le", null=True, blank=True)

    class Meta:
        verbose_name = "suivi de prévention"
        verbose_name_plural = "suivis de prévention"
        constraints = [
            models.UniqueConstraint(fields=["patient", "code"], name="prevention_item_unique_per_patient"),
            models.CheckConstraint(condition=Q(state__in=PreventionState.values), name="prevention_state_known"),
            models.CheckConstraint(
                condition=Q(state=PreventionState.DONE, done_on__isnull=False)
                | (~Q(state=PreventionState.DONE) & Q(done_on__isnull=True)),
                name="prevention_done_has_date",
            ),
        ]

    def __str__(self) -> str:
        return "suivi de prévention"
