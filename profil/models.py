"""The health profile: what the patient (or their representative) writes about their own health.

Entries of the questionnaire sections share one model: their content is a small JSON document, encrypted at rest
(everything in it is medical). The section registry (profil/sections.py) gives each section its form and labels.
"""

import json
import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone

from espace_sante.crypto.fields import EncryptedTextField
from profil.enums import MeasureKind, ProfessionalRole, Section
from profil.measures import measure_text

SINGLE_ENTRY_SECTIONS = (Section.GROUPE_SANGUIN, Section.HABITUDES, Section.CONFIANCE)


class HealthProfile(models.Model):
    """Per-patient settings of the profile: sections declared "not concerned", organ donation acknowledgement."""

    patient = models.OneToOneField(
        "accounts.Patient",
        on_delete=models.PROTECT,  # archived with the space, never cascaded away
        related_name="health_profile",
        verbose_name="patient",
    )
    not_concerned = models.JSONField("rubriques sans objet (clé → date)", default=dict, blank=True)
    organ_donation_acknowledged_at = models.DateTimeField("information sur le don d’organes lue le", null=True)

    class Meta:
        verbose_name = "profil médical"
        verbose_name_plural = "profils médicaux"

    def __str__(self) -> str:
        return "profil médical"


class ProfileEntryQuerySet(models.QuerySet):
    def in_order(self) -> "ProfileEntryQuerySet":
        return self.order_by(models.F("sort_date").desc(nulls_last=True), "-created_at", "-pk")


class ProfileEntry(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # archived with the space, never cascaded away
        related_name="profile_entries",
        verbose_name="patient",
    )
    section = models.CharField("rubrique", max_length=32, choices=Section.choices)
    content = EncryptedTextField("contenu (JSON chiffré)")
    sort_date = models.DateField("date de tri", null=True, blank=True)
    created_at = models.DateTimeField("créée le", default=timezone.now)
    updated_at = models.DateTimeField("modifiée le", default=timezone.now)

    objects = ProfileEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "information du profil médical"
        verbose_name_plural = "informations du profil médical"
        indexes = [models.Index(fields=["patient", "section"])]
        constraints = [
            models.CheckConstraint(condition=Q(section__in=Section.values), name="profile_entry_section_known"),
            models.UniqueConstraint(
                fields=["patient", "section"],
                condition=Q(section__in=[str(s) for s in SINGLE_ENTRY_SECTIONS]),
                name="profile_entry_single_per_section",
            ),
        ]

    def __str__(self) -> str:
        return Section(self.section).label  # never the content: this label may reach the access log

    @property
    def values(self) -> dict:
        return json.loads(self.content) if self.content else {}


class MeasureQuerySet(models.QuerySet):
    def in_order(self) -> "MeasureQuerySet":
        return self.order_by("-measured_on", models.F("measured_at").desc(nulls_last=True), "-created_at", "-pk")


class Measure(models.Model):
    """A measure of the patient: entered by the patient or a representative (`source` empty), or sent by a
    connected service through the FHIR API (`source` names it; `source_identifier` is the service's
    Observation.identifier, which it may not send twice). `measured_on` is the local date of `measured_at`
    when the time is known (services), the date typed in the form otherwise. `version` and `updated_at` are
    FHIR's meta.versionId and meta.lastUpdated."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # archived with the space, never cascaded away
        related_name="measures",
        verbose_name="patient",
    )
    kind = models.CharField("mesure", max_length=24, choices=MeasureKind.choices)
    value = models.DecimalField("valeur", max_digits=8, decimal_places=2)
    value2 = models.DecimalField("valeur diastolique", max_digits=8, decimal_places=2, null=True, blank=True)
    measured_on = models.DateField("date de la mesure")
    measured_at = models.DateTimeField("date et heure de la mesure", null=True, blank=True)
    source = models.ForeignKey(
        "catalogue.Service",
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # the measure keeps naming who sent it; services are dereferenced, not deleted
        related_name="+",
        verbose_name="transmise par le service",
    )
    source_identifier = models.CharField("identifiant chez le service", max_length=200, blank=True, default="")
    created_at = models.DateTimeField("enregistrée le", default=timezone.now)
    updated_at = models.DateTimeField("modifiée le", default=timezone.now)
    version = models.PositiveIntegerField("version", default=1)

    objects = MeasureQuerySet.as_manager()

    class Meta:
        verbose_name = "mesure"
        verbose_name_plural = "mesures"
        indexes = [models.Index(fields=["patient", "kind", "measured_on"])]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=MeasureKind.values), name="measure_kind_known"),
            models.CheckConstraint(
                condition=Q(kind=MeasureKind.TENSION, value2__isnull=False, value2__lt=models.F("value"))
                | (~Q(kind=MeasureKind.TENSION) & Q(value2__isnull=True)),
                name="measure_diastolic_only_for_blood_pressure_and_below_systolic",
            ),
            models.UniqueConstraint(
                fields=["patient", "source", "source_identifier"],
                condition=~Q(source_identifier=""),
                name="measure_source_identifier_unique",
            ),
            models.CheckConstraint(
                condition=Q(source__isnull=False) | Q(source_identifier=""), name="measure_identifier_needs_source"
            ),
            models.CheckConstraint(condition=Q(version__gte=1), name="measure_version_positive"),
        ]

    def __str__(self) -> str:
        return MeasureKind(self.kind).label

    @property
    def text(self) -> str:
        return measure_text(self.kind, self.value, self.value2)

    @property
    def source_label(self) -> str:
        """ "ajouté par <service>" for a measure a connected service sent, empty for the patient's own."""
        return f"ajouté par {self.source.name}" if self.source_id else ""


class ProfileProfessional(models.Model):
    """A professional the patient designated in a role (sage-femme référente, pharmacien correspondant)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # archived with the space, never cascaded away
        related_name="profile_professionals",
        verbose_name="patient",
    )
    professional = models.ForeignKey(
        "accounts.Professional",
        on_delete=models.PROTECT,  # a designation names a registered professional; removed by the patient only
        related_name="profile_designations",
        verbose_name="professionnel",
    )
    role = models.CharField("rôle", max_length=32, choices=ProfessionalRole.choices)
    designated_at = models.DateTimeField("désigné le", default=timezone.now)

    class Meta:
        verbose_name = "professionnel désigné"
        verbose_name_plural = "professionnels désignés"
        constraints = [
            models.UniqueConstraint(fields=["patient", "role"], name="profile_professional_one_per_role"),
            models.CheckConstraint(condition=Q(role__in=ProfessionalRole.values), name="profile_professional_role"),
        ]

    def __str__(self) -> str:
        return ProfessionalRole(self.role).label
