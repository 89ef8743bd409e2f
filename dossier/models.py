import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from dossier.enums import AuthorKind, CareKind, CareTeamRole, DocumentCategory, EmergencyKind

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
PREVIEW_TYPES = ("application/pdf", "image/jpeg", "image/png", "text/plain")  # shown inline by browsers
CDA_CONTENT_TYPE = "text/xml"  # a CDA R2 document (dossier.cda)
HELD_RESULT_NOTICE = timedelta(weeks=2)  # R.1111-53: the patient is told to consult after two weeks
HELD_RESULT_RELEASE = timedelta(days=30)  # … and the result becomes visible by itself after one month
EMERGENCY_DURATION = timedelta(hours=4)


class MedicalRecord(models.Model):
    """The shared medical record (DMP) created with the space (R.1111-40), with the patient's settings."""

    patient = models.OneToOneField(
        "accounts.Patient",
        on_delete=models.PROTECT,  # a record is archived with its space, never cascaded away
        related_name="medical_record",
        verbose_name="patient",
    )
    created_at = models.DateTimeField("créé le", default=timezone.now)
    hide_new_documents = models.BooleanField("masquer par défaut les nouveaux documents", default=False)
    history_hidden = models.BooleanField("historique de soins masqué aux professionnels", default=False)
    emergency_samu = models.BooleanField("accès du SAMU en cas d’urgence", default=True)
    emergency_break_glass = models.BooleanField("accès des autres professionnels en cas d’urgence", default=True)
    emergency_hidden_documents = models.BooleanField("documents masqués visibles en cas d’urgence", default=False)
    notify_each_access = models.BooleanField("e-mail à chaque accès d’un professionnel", default=False)

    class Meta:
        verbose_name = "dossier médical"
        verbose_name_plural = "dossiers médicaux"

    def __str__(self) -> str:
        return f"dossier de {self.patient}"


class DocumentQuerySet(models.QuerySet):
    def for_listing(self) -> "DocumentQuerySet":
        return self.select_related("author_professional__user").order_by("-care_date", "-added_at", "-pk")


class Document(models.Model):
    """A document of the record. Its file is encrypted at rest (espace_sante.crypto.storage)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.PROTECT,  # documents go with the record's archive, never by cascade
        related_name="documents",
        verbose_name="patient",
    )
    title = models.CharField("titre", max_length=150)
    category = models.CharField("catégorie", max_length=24, choices=DocumentCategory.choices)
    care_date = models.DateField("date des soins")
    added_at = models.DateTimeField("ajouté le", default=timezone.now)
    author_kind = models.CharField("auteur", max_length=16, choices=AuthorKind.choices)
    author_professional = models.ForeignKey(
        "accounts.Professional",
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # the author keeps access to what they wrote
        related_name="authored_documents",
        verbose_name="professionnel auteur",
    )
    author_label = models.CharField("nom de l’auteur", max_length=200, blank=True)
    added_by = models.ForeignKey(
        "accounts.User",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # the audit log keeps who added it
        related_name="+",
        verbose_name="ajouté par",
    )
    file_name = models.CharField("fichier chiffré", max_length=200)
    content_type = models.CharField("type de contenu", max_length=64)
    size = models.PositiveIntegerField("taille (octets)")
    original_filename = models.CharField("nom du fichier", max_length=150)
    hidden_from_professionals = models.BooleanField("masqué aux professionnels", default=False)
    hidden_from_representatives = models.BooleanField("non visible des représentants légaux", default=False)
    visible_to_patient_from = models.DateTimeField("visible par le patient à partir du", null=True, blank=True)
    held_notice_sent_at = models.DateTimeField("patient invité à consulter le", null=True, blank=True)

    objects = DocumentQuerySet.as_manager()

    class Meta:
        verbose_name = "document"
        verbose_name_plural = "documents"
        indexes = [models.Index(fields=["patient", "-care_date", "-added_at"], name="document_patient_date")]
        constraints = [
            models.CheckConstraint(condition=Q(category__in=DocumentCategory.values), name="document_category_known"),
            models.CheckConstraint(condition=Q(author_kind__in=AuthorKind.values), name="document_author_known"),
            models.CheckConstraint(
                condition=~Q(author_kind=AuthorKind.PROFESSIONAL) | Q(author_professional__isnull=False),
                name="document_professional_author_named",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def author_display(self) -> str:
        if self.author_professional_id:
            return self.author_professional.label
        return self.author_label or self.get_author_kind_display()

    @property
    def is_held(self) -> bool:
        return self.visible_to_patient_from is not None and timezone.now() < self.visible_to_patient_from

    @property
    def can_preview(self) -> bool:
        """Whether "Aperçu" opens something in the browser: the file, or for a CDA R2 document its embedded
        file (level 1) or its page (level 3)."""
        return self.content_type in (*PREVIEW_TYPES, CDA_CONTENT_TYPE)

    @property
    def is_cda(self) -> bool:
        return self.content_type == CDA_CONTENT_TYPE


class CareTeamMember(models.Model):
    """A professional in the patient's care team, or one the patient blocked."""

    patient = models.ForeignKey(
        "accounts.Patient", on_delete=models.CASCADE, related_name="care_team", verbose_name="patient"
    )  # the team is part of the record's settings
    professional = models.ForeignKey(
        "accounts.Professional",
        on_delete=models.CASCADE,  # a professional leaving the register leaves every team
        related_name="care_teams",
        verbose_name="professionnel",
    )
    role = models.CharField("rôle", max_length=24, choices=CareTeamRole.choices)
    is_administrator = models.BooleanField("administrateur (voit les documents masqués)", default=False)
    blocked_at = models.DateTimeField("bloqué le", null=True, blank=True)
    added_at = models.DateTimeField("ajouté le", default=timezone.now)

    class Meta:
        verbose_name = "membre de l’équipe de soins"
        verbose_name_plural = "membres de l’équipe de soins"
        constraints = [
            models.UniqueConstraint(fields=["patient", "professional"], name="care_team_unique_member"),
            models.CheckConstraint(condition=Q(role__in=CareTeamRole.values), name="care_team_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.professional} ({self.get_role_display()})"


class EmergencyAccess(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        "accounts.Patient", on_delete=models.PROTECT, related_name="emergency_accesses", verbose_name="patient"
    )  # an emergency access must stay explainable
    professional = models.ForeignKey(
        "accounts.Professional",
        on_delete=models.PROTECT,
        related_name="emergency_accesses",
        verbose_name="professionnel",
    )  # same
    kind = models.CharField("type", max_length=16, choices=EmergencyKind.choices)
    reason = models.CharField("motif", max_length=500)
    started_at = models.DateTimeField("début", default=timezone.now)
    expires_at = models.DateTimeField("fin")

    class Meta:
        verbose_name = "accès en urgence"
        verbose_name_plural = "accès en urgence"
        constraints = [models.CheckConstraint(condition=Q(kind__in=EmergencyKind.values), name="emergency_kind_known")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.started_at:%d/%m/%Y %H:%M}"

    @property
    def is_active(self) -> bool:
        return timezone.now() < self.expires_at


class Reimbursement(models.Model):
    """One line of the history of care, fed by the health insurance (import_remboursements)."""

    patient = models.ForeignKey(
        "accounts.Patient", on_delete=models.CASCADE, related_name="reimbursements", verbose_name="patient"
    )  # purged with the record
    care_date = models.DateField("date")
    kind = models.CharField("nature", max_length=16, choices=CareKind.choices)
    label = models.CharField("libellé", max_length=200)
    prescriber = models.CharField("prescripteur", max_length=200, blank=True)
    deliverer = models.CharField("exécutant", max_length=200, blank=True)
    quantity = models.PositiveIntegerField("quantité", default=1)
    cip_code = models.CharField("code CIP", max_length=13, blank=True)
    secret_for_representatives = models.BooleanField("secret demandé par le mineur", default=False)
    line_key = models.CharField("clé d’import", max_length=64, unique=True)

    class Meta:
        verbose_name = "remboursement"
        verbose_name_plural = "remboursements"
        indexes = [models.Index(fields=["patient", "-care_date"], name="reimbursement_patient_date")]

    def __str__(self) -> str:
        return f"{self.care_date:%d/%m/%Y} {self.label}"


class ShareLink(models.Model):
    """A time-limited link to one document, for someone without access (a pharmacy counter…)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    document = models.ForeignKey(
        Document, on_delete=models.CASCADE, related_name="share_links", verbose_name="document"
    )
    token_hash = models.CharField("empreinte du lien", max_length=64, unique=True)
    created_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="créé par"
    )  # the audit log keeps who shared
    created_at = models.DateTimeField("créé le", default=timezone.now)
    expires_at = models.DateTimeField("expire le")
    revoked_at = models.DateTimeField("révoqué le", null=True, blank=True)
    openings = models.PositiveIntegerField("ouvertures", default=0)

    class Meta:
        verbose_name = "lien de partage"
        verbose_name_plural = "liens de partage"

    def __str__(self) -> str:
        return f"partage de {self.document}"

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and timezone.now() < self.expires_at
