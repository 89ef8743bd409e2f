import secrets
import time
import uuid
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP

from accounts.enums import (
    EstablishmentKind,
    Organisation,
    Profession,
    RepresentationKind,
    Sex,
    UserKind,
    VitaleCardType,
)
from accounts.validators import validate_departments, validate_finess, validate_nir, validate_rpps
from espace_sante.crypto.fields import EncryptedTextField
from espace_sante.crypto.hashing import keyed_hash, keyed_hash_matches
from espace_sante.lib.dates import age_on, today
from espace_sante.lib.models import OAuthClientOwner, TimestampedModel

MAJORITY_AGE = 18


class User(AbstractUser):
    """A login. `username` is the identifiant the person chose; `kind` fixes which portal it may enter."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField("type de compte", max_length=16, choices=UserKind.choices)
    # Sessions opened before this instant are ended (set at logout: logging out ends every session).
    sessions_valid_after = models.DateTimeField("sessions valables après", null=True, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = "compte"
        verbose_name_plural = "comptes"
        constraints = [models.CheckConstraint(condition=Q(kind__in=UserKind.values), name="user_kind_known")]

    def __str__(self) -> str:
        return self.username


def department_q(codes: list[str], *, path: str = "") -> Q:
    """People whose postal address is in one of these départements (the inverse of Patient.department)."""
    field = f"{path}postal_code"
    condition = Q(pk__in=[])
    for code in codes:
        if code == "2A":
            condition |= Q(**{f"{field}__startswith": "20", f"{field}__lt": "20200"})
        elif code == "2B":
            condition |= Q(**{f"{field}__startswith": "20", f"{field}__gte": "20200"})
        else:
            condition |= Q(**{f"{field}__startswith": code})
    return condition


class PatientQuerySet(models.QuerySet):
    def alive(self) -> "PatientQuerySet":
        return self.filter(deceased_on__isnull=True)


class Patient(TimestampedModel):
    """An insured person (assuré), with or without a login: children and unactivated people have none.

    Identity follows the INS traits (nom de naissance, prénoms, date and place of birth, sexe).
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        User,
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # a login is closed, never deleted, while the person exists
        related_name="patient_profile",
        verbose_name="compte",
    )
    # Unique through Meta.constraints: unique=True would add a LIKE index that no query uses and every
    # imported person pays for (bench/README.md, fix 6). Lookups by NIR are exact.
    nir = models.CharField("numéro de sécurité sociale", max_length=15, validators=[validate_nir])
    birth_name = models.CharField("nom de naissance", max_length=100)
    used_name = models.CharField("nom d’usage", max_length=100, blank=True)
    first_names = models.CharField("prénoms", max_length=150)
    birth_date = models.DateField("date de naissance")
    sex = models.CharField("sexe", max_length=1, choices=Sex.choices)
    birth_place_insee = models.CharField("lieu de naissance (code INSEE)", max_length=5)
    email = models.EmailField("adresse e-mail", blank=True)
    phone = models.CharField("téléphone", max_length=20, blank=True)
    address_line = models.CharField("adresse", max_length=200, blank=True)
    postal_code = models.CharField("code postal", max_length=5, blank=True)
    city = models.CharField("commune", max_length=100, blank=True)
    medecin_traitant = models.ForeignKey(
        "accounts.Professional",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,  # a doctor leaving the register leaves the patient without one
        related_name="patients_suivis",
        verbose_name="médecin traitant",
    )
    deceased_on = models.DateField("date de décès", null=True, blank=True)
    vitale_card_type = models.CharField(
        "modèle de carte Vitale", max_length=16, choices=VitaleCardType.choices, blank=True
    )
    vitale_serial = models.CharField("numéro de série de la carte Vitale", max_length=20, blank=True)
    card_holder = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,  # a child stays attached until the registry says otherwise
        related_name="attached_children",
        verbose_name="ouvrant droit (titulaire de la carte)",
    )

    objects = PatientQuerySet.as_manager()

    class Meta:
        verbose_name = "assuré"
        verbose_name_plural = "assurés"
        constraints = [
            models.CheckConstraint(condition=Q(sex__in=Sex.values), name="patient_sex_known"),
            models.CheckConstraint(condition=~Q(card_holder=F("pk")), name="patient_not_own_card_holder"),
            models.UniqueConstraint(fields=["nir"], name="patient_nir_unique"),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def first_name(self) -> str:
        return self.first_names.split()[0] if self.first_names else ""

    @property
    def last_name(self) -> str:
        return self.used_name or self.birth_name

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def age(self) -> int:
        return age_on(self.birth_date, today())

    @property
    def is_minor(self) -> bool:
        return self.age < MAJORITY_AGE

    @property
    def department(self) -> str:
        """The département of the postal address (2A/2B for Corsica, 3 digits overseas)."""
        code = self.postal_code
        if code.startswith("97"):
            return code[:3]
        if code.startswith("20"):
            return "2A" if code < "20200" else "2B"
        return code[:2]

    @property
    def masked_nir(self) -> str:
        """The NIR as printed on receipts: sex and birth year/month visible, the rest hidden."""
        return f"{self.nir[0]} {self.nir[1:3]} {self.nir[3:5]} •• ••• ••• ••"


class Professional(TimestampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        User,
        on_delete=models.PROTECT,  # accesses were traced under this account
        related_name="professional_profile",
        verbose_name="compte",
    )
    rpps = models.CharField("numéro RPPS", max_length=11, unique=True, validators=[validate_rpps])
    profession = models.CharField("profession", max_length=32, choices=Profession.choices)
    specialty = models.CharField("spécialité", max_length=100, blank=True)
    structure_name = models.CharField("structure d’exercice", max_length=150, blank=True)
    structure_city = models.CharField("commune d’exercice", max_length=100, blank=True)
    # L.1111-17 I: the médecin régulateur of the SAMU (centre 15) reads the record of the person a call is
    # about. Set by an operator (`manage.py regulateur_samu`), never by the professional themself.
    samu_regulator = models.BooleanField(
        "médecin régulateur du SAMU (centre 15)",
        default=False,
        help_text="Seul un médecin régulateur ouvre un accès « régulation du SAMU ».",
    )

    class Meta:
        verbose_name = "professionnel de santé"
        verbose_name_plural = "professionnels de santé"
        constraints = [
            models.CheckConstraint(
                condition=Q(profession__in=Profession.values), name="professional_profession_known"
            ),
            models.CheckConstraint(
                condition=Q(samu_regulator=False) | Q(profession=Profession.MEDECIN),
                name="professional_samu_regulator_is_a_doctor",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        title = "Dr " if self.profession in (Profession.MEDECIN, Profession.CHIRURGIEN_DENTISTE) else ""
        what = self.specialty or self.get_profession_display()
        return f"{title}{self.user.first_name} {self.user.last_name}, {what}"


class Agent(TimestampedModel):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    user = models.OneToOneField(
        User,
        on_delete=models.PROTECT,  # actions were traced under this account
        related_name="agent_profile",
        verbose_name="compte",
    )
    organisation = models.CharField("organisme", max_length=16, choices=Organisation.choices)
    organisation_name = models.CharField("nom de l’organisme", max_length=150)
    # A CPAM serves the insured living in its circonscription: one département, or a few for caisses that
    # merged (comma-separated codes, "31" or "2A,2B"). France services desks help whoever comes to them,
    # wherever they live: no territory (see espace_sante.access.policy.patients_for_agent).
    departments = models.CharField(
        "départements de la caisse",
        max_length=60,
        blank=True,
        validators=[validate_departments],
        help_text="Codes séparés par des virgules, par exemple 31 ou 2A,2B. Obligatoire pour une CPAM.",
    )

    class Meta:
        verbose_name = "conseiller"
        verbose_name_plural = "conseillers"
        constraints = [
            models.CheckConstraint(condition=Q(organisation__in=Organisation.values), name="agent_organisation_known")
        ]

    def __str__(self) -> str:
        return f"{self.user.first_name} {self.user.last_name} ({self.organisation_name})"

    def clean(self) -> None:
        # Not a database constraint: a CPAM agent left without territory sees nobody (fail closed).
        if self.organisation == Organisation.CPAM and not self.department_codes:
            raise ValidationError({"departments": "Indiquez le ou les départements de la caisse."})

    @property
    def department_codes(self) -> list[str]:
        return [code.strip() for code in self.departments.split(",") if code.strip()]


class LegalRepresentationQuerySet(models.QuerySet):
    def active(self) -> "LegalRepresentationQuerySet":
        return self.filter(Q(ended_on__isnull=True) | Q(ended_on__gt=today()))


class LegalRepresentation(TimestampedModel):
    """A parent or tutor acts for a minor or a protected adult (one row per representative)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    representative = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,  # ending a representation is dated, never deleted
        related_name="representations",
        verbose_name="représentant légal",
    )
    represented = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,  # same
        related_name="representatives",
        verbose_name="personne représentée",
    )
    kind = models.CharField("nature", max_length=16, choices=RepresentationKind.choices)
    started_on = models.DateField("début", default=today)
    ended_on = models.DateField("fin", null=True, blank=True)

    objects = LegalRepresentationQuerySet.as_manager()

    class Meta:
        verbose_name = "représentation légale"
        verbose_name_plural = "représentations légales"
        constraints = [
            models.CheckConstraint(condition=~Q(representative=F("represented")), name="representation_not_self"),
            models.CheckConstraint(condition=Q(kind__in=RepresentationKind.values), name="representation_kind_known"),
            models.UniqueConstraint(
                fields=["representative", "represented"],
                condition=Q(ended_on__isnull=True),
                name="representation_unique_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.representative} → {self.represented}"


# --- Second-factor devices (django-otp) -----------------------------------------------------------------
# django-otp's own email and TOTP devices keep their secrets in clear text; ours keep a keyed hash of the
# e-mailed code and an encrypted TOTP key, and reuse django-otp's throttling and login machinery.


class EmailOTPDevice(ThrottlingMixin, Device):
    """A six-digit code e-mailed at login. Only its keyed hash is stored, for ten minutes at most."""

    token_hash = models.CharField(max_length=64, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)

    class Meta(Device.Meta):
        verbose_name = "code par e-mail"
        verbose_name_plural = "codes par e-mail"

    def get_throttle_factor(self) -> int:
        return settings.OTP_THROTTLE_FACTOR

    def issue_token(self) -> str:
        """Create a fresh code, store its hash, and return it for the caller to send."""
        token = f"{secrets.randbelow(1_000_000):06d}"
        self.token_hash = keyed_hash(token, purpose=f"otp-email:{self.pk}")
        self.valid_until = timezone.now() + settings.OTP_EMAIL_CODE_VALIDITY
        self.save(update_fields=["token_hash", "valid_until"])
        return token

    def verify_token(self, token) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        token = str(token).strip()
        valid = (
            bool(self.token_hash)
            and self.valid_until is not None
            and timezone.now() < self.valid_until
            and keyed_hash_matches(token, self.token_hash, purpose=f"otp-email:{self.pk}")
        )
        if valid:
            # Single use: the hash is cleared, so replaying the same code fails.
            self.token_hash = ""
            self.valid_until = None
            self.throttle_reset(commit=False)
            self.save()
        else:
            self.throttle_increment(commit=True)
        return valid


def _new_totp_key() -> str:
    return secrets.token_hex(20)


class TOTPDevice(ThrottlingMixin, TimestampMixin, Device):
    """An authenticator application (RFC 6238, 30 s, 6 digits). The key is encrypted at rest."""

    key = EncryptedTextField("clé", default=_new_totp_key)
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)  # replay guard: a later token must have a higher step

    class Meta(Device.Meta):
        verbose_name = "application d’authentification"
        verbose_name_plural = "applications d’authentification"

    def get_throttle_factor(self) -> int:
        return settings.OTP_THROTTLE_FACTOR

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    @property
    def base32_key(self) -> str:
        return b32encode(self.bin_key).decode()

    def verify_token(self, token) -> bool:
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            value = int(str(token).strip())
        except ValueError:
            value = None
        verified = False
        if value is not None:
            totp = TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)
            totp.time = time.time()
            verified = totp.verify(value, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    @property
    def config_url(self) -> str:
        label = quote(f"{settings.OTP_TOTP_ISSUER}:{self.user.username}")
        issuer = quote(settings.OTP_TOTP_ISSUER)
        return (
            f"otpauth://totp/{label}?secret={self.base32_key}&issuer={issuer}&digits={self.digits}&period={self.step}"
        )


# --- Contacts typed by an agent ---------------------------------------------------------------------------


class ContactChangeQuerySet(models.QuerySet):
    def open(self) -> "ContactChangeQuerySet":
        return self.filter(confirmed_at=None, cancelled_at=None, expires_at__gt=timezone.now())


class ContactChangeRequest(TimestampedModel):
    """New contacts an agent typed for a person: they take effect (for login codes, password resets and
    provisional codes) only once the person confirms them — from the new contact with their password (or,
    before activation, their Vitale card), or by reading the agent a code sent to the contacts on file.

    Until then the contacts on file stay in use. The secrets (link, read-back code) are keyed hashes.
    """

    class How(models.TextChoices):
        NEW_CONTACT = "new_contact", "par le lien envoyé aux nouvelles coordonnées"
        CODE_READ_BACK = "code_read_back", "par le code envoyé aux coordonnées actuelles, lu au conseiller"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    patient = models.ForeignKey(
        Patient,
        on_delete=models.PROTECT,  # part of the person's administrative history
        related_name="contact_change_requests",
        verbose_name="assuré",
    )
    email_changed = models.BooleanField("e-mail modifié", default=False)
    email = models.EmailField("nouvelle adresse e-mail", blank=True)
    phone_changed = models.BooleanField("téléphone modifié", default=False)
    phone = models.CharField("nouveau téléphone", max_length=20, blank=True)
    requested_by = models.ForeignKey(
        User,
        on_delete=models.PROTECT,  # the agent who typed it stays known
        related_name="+",
        verbose_name="demandé par",
    )
    check_note = models.CharField("vérification de l’identité", max_length=200)
    expires_at = models.DateTimeField("expire le")
    link_hash = models.CharField(max_length=64, blank=True)
    code_hash = models.CharField(max_length=64, blank=True)
    code_channel = models.CharField(max_length=8, blank=True)
    code_sent_at = models.DateTimeField(null=True, blank=True)
    code_valid_until = models.DateTimeField(null=True, blank=True)
    failed_attempts = models.PositiveSmallIntegerField("tentatives erronées", default=0)
    confirmed_at = models.DateTimeField("confirmée le", null=True, blank=True)
    confirmed_how = models.CharField("confirmée", max_length=16, choices=How.choices, blank=True)
    cancelled_at = models.DateTimeField("annulée le", null=True, blank=True)

    objects = ContactChangeQuerySet.as_manager()

    class Meta:
        verbose_name = "demande de modification des coordonnées"
        verbose_name_plural = "demandes de modification des coordonnées"
        indexes = [models.Index(fields=["patient", "-created_at"], name="contact_change_patient")]
        constraints = [
            models.UniqueConstraint(
                fields=["patient"],
                condition=Q(confirmed_at__isnull=True, cancelled_at__isnull=True),
                name="contact_change_one_open",
            ),
            models.CheckConstraint(
                condition=Q(confirmed_how__in=["", *("new_contact", "code_read_back")]),
                name="contact_change_how_known",
            ),
        ]

    def __str__(self) -> str:
        return "demande de modification des coordonnées"  # never the addresses: it labels audit rows

    @property
    def fields(self) -> list[str]:
        return [name for name, changed in (("email", self.email_changed), ("phone", self.phone_changed)) if changed]


class Establishment(TimestampedModel):
    """A health establishment (hospital, laboratory, radiology centre, pharmacy, médico-social), known by its
    FINESS number: its software clients send documents to the record (issue 17)."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    finess = models.CharField("numéro FINESS", max_length=9, unique=True, validators=[validate_finess])
    name = models.CharField("nom", max_length=200)
    kind = models.CharField("type d’établissement", max_length=20, choices=EstablishmentKind.choices)
    active = models.BooleanField("actif", default=True)

    class Meta:
        verbose_name = "établissement"
        verbose_name_plural = "établissements"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(kind__in=EstablishmentKind.values), name="establishment_kind_known"),
        ]

    def __str__(self) -> str:
        return f"{self.name} (FINESS {self.finess})"


class SoftwareClient(OAuthClientOwner, TimestampedModel):
    """A software (hospital information system, laboratory or practice software) calling the document-sharing
    API for an establishment, or for a named professional of it (`professional`, who must be active).

    It authenticates with OAuth 2.0 client credentials and private_key_jwt only (keys from `oauth_jwks` or
    `oauth_jwks_uri`, as a connected service's); its django-oauth-toolkit Application is found by
    `oauth_client_id` (no foreign key to the swappable model). Tokens carry `software:<public_id>`."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField("nom du logiciel", max_length=200)
    establishment = models.ForeignKey(
        Establishment, on_delete=models.PROTECT, related_name="software_clients", verbose_name="établissement"
    )
    professional = models.ForeignKey(
        Professional,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="software_clients",
        verbose_name="professionnel pour qui il agit",
        help_text="Vide : le logiciel agit pour l’établissement lui-même.",
    )
    oauth_client_id = models.CharField(
        "identifiant du client OAuth", max_length=100, null=True, blank=True, unique=True
    )
    oauth_jwks = models.JSONField("clés publiques du client (JWKS)", null=True, blank=True)
    oauth_jwks_uri = models.URLField("adresse des clés publiques du client (jwks_uri)", blank=True)
    active = models.BooleanField("actif", default=True)

    class Meta:
        verbose_name = "logiciel client"
        verbose_name_plural = "logiciels clients"
        ordering = ["establishment__name", "name"]
        permissions = [("manage_software_oauth_client", "Créer ou renouveler le client OAuth d’un logiciel")]

    def __str__(self) -> str:
        return f"{self.name} — {self.establishment.name}"

    @property
    def scope_tag(self) -> str:
        return f"software:{self.public_id}"

    @property
    def professional_is_active(self) -> bool:
        return self.professional is None or self.professional.user.is_active

    @property
    def usable(self) -> bool:
        """May get and use tokens: itself and its establishment active, its professional (if any) active."""
        return self.active and self.establishment.active and self.professional_is_active
