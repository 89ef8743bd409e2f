import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from activation.enums import ChunkStatus, CodeChannel, CodeState, OppositionChannel, RunStatus, SpaceStatus

INFORMATION_DELAY = timedelta(weeks=6)  # R.1111-28: the space opens six weeks after the information
CODE_VALIDITY = timedelta(weeks=6)
ARCHIVE_RETENTION = timedelta(days=3653)  # R.1111-36: ten years after closure
DELETION_DEADLINE = timedelta(days=91)  # R.1111-36: deletion within three months of the request
MAX_CODE_FAILURES = 5


class HealthSpace(models.Model):
    """The life of one person's Mon espace santé, from information to deletion (see services.ALLOWED)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.OneToOneField(
        "accounts.Patient",
        on_delete=models.PROTECT,  # the space's history outlives nothing it belongs to
        related_name="space",
        verbose_name="assuré",
    )
    status = models.CharField("état", max_length=16, choices=SpaceStatus.choices, default=SpaceStatus.INFORMED)
    informed_at = models.DateTimeField("informé le", null=True, blank=True)
    opened_at = models.DateTimeField("ouvert le", null=True, blank=True)
    activated_at = models.DateTimeField("activé le", null=True, blank=True)
    opposed_at = models.DateTimeField("opposition le", null=True, blank=True)
    closed_at = models.DateTimeField("clôturé le", null=True, blank=True)
    deletion_requested_at = models.DateTimeField("suppression demandée le", null=True, blank=True)
    deleted_at = models.DateTimeField("supprimé le", null=True, blank=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "espace santé"
        verbose_name_plural = "espaces santé"
        indexes = [models.Index(fields=["status", "informed_at"], name="space_status_informed")]
        permissions = [
            ("close_space", "clôturer ou rouvrir un espace à la demande de la personne"),
            ("record_death", "enregistrer un décès"),
            ("update_contacts", "mettre à jour l’e-mail ou le téléphone"),
            ("decide_child_profile", "aider un parent à activer ou opposer le profil d’un enfant"),
            ("export_lists", "exporter les listes de suivi"),
        ]
        constraints = [models.CheckConstraint(condition=Q(status__in=SpaceStatus.values), name="space_status_known")]

    def __str__(self) -> str:
        return f"espace de {self.patient}"

    @property
    def opens_on(self):
        return (self.informed_at + INFORMATION_DELAY) if self.informed_at else None

    @property
    def archive_until(self):
        return (self.closed_at + ARCHIVE_RETENTION) if self.closed_at else None


class ProvisionalCode(models.Model):
    """A six-week, single-use code. Only its keyed hash is stored (see espace_sante.crypto.hashing)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # codes are part of the person's administrative history
        related_name="provisional_codes",
        verbose_name="assuré",
        db_index=False,  # code_patient_issued (patient, -issued_at) serves every lookup by patient
    )
    code_hash = models.CharField("empreinte", max_length=64)  # unique: see Meta (no LIKE index)
    channel = models.CharField("canal", max_length=8, choices=CodeChannel.choices)
    issued_at = models.DateTimeField("émis le", default=timezone.now)
    expires_at = models.DateTimeField("expire le")
    used_at = models.DateTimeField("utilisé le", null=True, blank=True)
    voided_at = models.DateTimeField("annulé le", null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField("tentatives erronées", default=0)
    chunk = models.ForeignKey(
        "activation.CampaignChunk",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # chunks are bookkeeping; codes stand on their own
        related_name="codes",
        verbose_name="lot de campagne",
    )

    class Meta:
        verbose_name = "code provisoire"
        verbose_name_plural = "codes provisoires"
        indexes = [models.Index(fields=["patient", "-issued_at"], name="code_patient_issued")]
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=CodeChannel.values), name="code_channel_known"),
            # A constraint, not unique=True: Django would add a second (LIKE) index that no query uses and
            # every campaign row pays for.
            models.UniqueConstraint(fields=["code_hash"], name="code_hash_unique"),
        ]

    def __str__(self) -> str:
        return f"code {self.get_state_display()} du {self.issued_at:%d/%m/%Y}"

    @property
    def state(self) -> CodeState:
        if self.used_at:
            return CodeState.USED
        if self.voided_at:
            return CodeState.VOIDED
        if timezone.now() >= self.expires_at:
            return CodeState.EXPIRED
        return CodeState.VALID

    def get_state_display(self) -> str:
        return CodeState(self.state).label


class Opposition(models.Model):
    """An opposition to the opening of a space, with the receipt (justificatif) given to the person."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField("référence", max_length=20, unique=True)
    space = models.ForeignKey(
        HealthSpace,
        on_delete=models.PROTECT,  # a receipt must stay verifiable
        related_name="oppositions",
        verbose_name="espace",
    )
    channel = models.CharField("canal", max_length=8, choices=OppositionChannel.choices)
    recorded_at = models.DateTimeField("enregistrée le", default=timezone.now)
    recorded_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # the agent or representative who recorded it stays known
        related_name="+",
        verbose_name="enregistrée par",
    )
    receipt_name = models.CharField("justificatif (fichier chiffré)", max_length=200, blank=True)

    class Meta:
        verbose_name = "opposition"
        verbose_name_plural = "oppositions"
        constraints = [
            models.CheckConstraint(condition=Q(channel__in=OppositionChannel.values), name="opposition_channel_known")
        ]

    def __str__(self) -> str:
        return f"opposition {self.reference}"


class Closure(models.Model):
    """A closure of a space, by its holder or at their request, with or without deletion of the data."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    reference = models.CharField("référence", max_length=20, unique=True)
    space = models.ForeignKey(
        HealthSpace,
        on_delete=models.PROTECT,  # a receipt must stay verifiable
        related_name="closures",
        verbose_name="espace",
    )
    closed_at = models.DateTimeField("clôturé le", default=timezone.now)
    deletion_requested = models.BooleanField("suppression demandée", default=False)
    reason = models.CharField("motif", max_length=32, default="holder_request")
    recorded_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # who closed it stays known
        related_name="+",
        verbose_name="enregistrée par",
    )
    receipt_name = models.CharField("justificatif (fichier chiffré)", max_length=200, blank=True)

    class Meta:
        verbose_name = "clôture"
        verbose_name_plural = "clôtures"

    def __str__(self) -> str:
        return f"clôture {self.reference}"


class CampaignRun(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    started_at = models.DateTimeField("lancée le", default=timezone.now)
    finished_at = models.DateTimeField("terminée le", null=True, blank=True)
    departements = models.JSONField("départements", default=list, blank=True)
    limit = models.PositiveIntegerField("limite", null=True, blank=True)
    render_pdf = models.BooleanField("lettres complètes en PDF", default=False)
    status = models.CharField("état", max_length=8, choices=RunStatus.choices, default=RunStatus.RUNNING)
    people = models.PositiveIntegerField("personnes", default=0)

    class Meta:
        verbose_name = "campagne d’information"
        verbose_name_plural = "campagnes d’information"

    def __str__(self) -> str:
        return f"campagne du {self.started_at:%d/%m/%Y %H:%M}"


class CampaignChunk(models.Model):
    """A slice of a campaign processed in one transaction by one task: ids in, codes and messages out."""

    run = models.ForeignKey(
        CampaignRun, on_delete=models.CASCADE, related_name="chunks", verbose_name="campagne"
    )  # chunks are the run's own bookkeeping
    number = models.PositiveIntegerField("numéro")
    patient_ids = models.JSONField("assurés")
    status = models.CharField("état", max_length=12, choices=ChunkStatus.choices, default=ChunkStatus.PENDING)
    finished_at = models.DateTimeField("terminé le", null=True, blank=True)
    emails = models.PositiveIntegerField("e-mails", default=0)
    letters = models.PositiveIntegerField("courriers", default=0)
    skipped = models.PositiveIntegerField("ignorés", default=0)

    class Meta:
        verbose_name = "lot de campagne"
        verbose_name_plural = "lots de campagne"
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="chunk_unique_number")]

    def __str__(self) -> str:
        return f"lot {self.number}"


class InformationMessage(models.Model):
    """The information sent to one person (one per space): how, when, in which batch."""

    space = models.OneToOneField(
        HealthSpace,
        on_delete=models.CASCADE,  # purged with the space
        related_name="information",
        verbose_name="espace",
    )
    channel = models.CharField("canal", max_length=8, choices=CodeChannel.choices)
    recipient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # the card holder who received it (a parent for a child)
        related_name="+",
        verbose_name="destinataire",
    )
    chunk = models.ForeignKey(
        CampaignChunk, on_delete=models.PROTECT, related_name="messages", verbose_name="lot"
    )  # keeps the batch of a letter traceable
    prepared_at = models.DateTimeField("préparé le", default=timezone.now)

    class Meta:
        verbose_name = "information envoyée"
        verbose_name_plural = "informations envoyées"

    def __str__(self) -> str:
        return f"{self.get_channel_display()} pour {self.space}"
