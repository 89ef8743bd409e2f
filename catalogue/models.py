"""The catalogue of referenced services and the patients' connections.

What connected services send lands in the apps that own the data: measures in profil.Measure, appointments in
agenda.AgendaEntry, documents in dossier.Document, each naming the service as its source.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from catalogue.enums import (
    ConnectionStatus,
    DisconnectReason,
    Region,
    ReportReason,
    Scope,
    ServiceCategory,
    ServiceStatus,
)
from espace_sante.crypto.fields import EncryptedTextField
from espace_sante.lib.models import OAuthClientOwner


class ServiceQuerySet(models.QuerySet):
    def listed(self) -> "ServiceQuerySet":
        """What patients browse: online and offline services (suspended and dereferenced ones are hidden)."""
        return self.filter(status__in=[ServiceStatus.ONLINE, ServiceStatus.OFFLINE]).order_by("name")


class Service(OAuthClientOwner, models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField("nom", max_length=100, unique=True)
    publisher = models.CharField("éditeur", max_length=150)
    logo = models.CharField("logo (chemin statique)", max_length=200, default="img/catalogue/service.svg")
    short_description = models.CharField("description courte", max_length=200)
    description = models.TextField("description détaillée")
    category = models.CharField("catégorie", max_length=24, choices=ServiceCategory.choices)
    regions = models.CharField(
        "régions", max_length=200, blank=True, help_text="Codes de régions séparés par des espaces ; vide : national."
    )
    website = models.URLField("site internet")
    referenced_on = models.DateField("référencé le", default=timezone.localdate)
    status = models.CharField("statut", max_length=16, choices=ServiceStatus.choices, default=ServiceStatus.ONLINE)
    status_changed_at = models.DateTimeField("statut modifié le", null=True, blank=True)
    # The OAuth client (django-oauth-toolkit Application) is found by its client_id: no foreign key to a
    # swappable model, so this app needs no OAUTH2_PROVIDER_APPLICATION_MODEL setting.
    oauth_client_id = models.CharField(
        "identifiant du client OAuth", max_length=100, null=True, blank=True, unique=True
    )
    # A confidential client (private_key_jwt) proves itself with a key of this JWKS document, or of the one
    # published at oauth_jwks_uri (fetched with a short timeout, cached): public keys only, never a secret.
    oauth_jwks = models.JSONField("clés publiques du client (JWKS)", null=True, blank=True)
    oauth_jwks_uri = models.URLField("adresse des clés publiques du client (jwks_uri)", blank=True)

    objects = ServiceQuerySet.as_manager()

    class Meta:
        verbose_name = "service référencé"
        verbose_name_plural = "services référencés"
        permissions = [
            ("suspend_service", "Suspendre ou rétablir un service"),
            ("dereference_service", "Déréférencer un service"),
            ("manage_oauth_client", "Créer, modifier ou renouveler le client OAuth d’un service"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(category__in=ServiceCategory.values), name="service_category_known"),
            models.CheckConstraint(condition=Q(status__in=ServiceStatus.values), name="service_status_known"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_online(self) -> bool:
        return self.status == ServiceStatus.ONLINE

    @property
    def region_labels(self) -> list[str]:
        if not self.regions:
            return [Region.NATIONAL.label]
        return [Region(code).label for code in self.regions.split() if code in Region.values]

    @property
    def all_scopes(self) -> set[str]:
        return {scope for purpose in self.purposes.all() for scope in purpose.scope_list}


class Purpose(models.Model):
    """What a service asks for, in words a patient understands, and the data scopes behind it."""

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="purposes", verbose_name="service")
    label = models.CharField("finalité", max_length=120)
    explanation = models.CharField("explication", max_length=250, blank=True)
    scopes = models.CharField("portées (séparées par des espaces)", max_length=200)
    document_categories = models.JSONField("catégories de documents", default=list, blank=True)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "finalité"
        verbose_name_plural = "finalités"
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["service", "label"], name="purpose_label_unique_per_service")]

    def __str__(self) -> str:
        return self.label

    @property
    def scope_list(self) -> list[str]:
        return self.scopes.split()

    @property
    def scope_labels(self) -> list[str]:
        return [Scope(scope).label for scope in self.scope_list if scope in Scope.values]

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        unknown = [scope for scope in self.scope_list if scope not in Scope.values]
        if unknown or not self.scope_list:
            raise ValidationError({"scopes": f"Portées inconnues : {', '.join(unknown) or '(aucune)'}."})


class ConnectionQuerySet(models.QuerySet):
    def live(self) -> "ConnectionQuerySet":
        return self.exclude(status=ConnectionStatus.DISCONNECTED)

    def active(self) -> "ConnectionQuerySet":
        return self.filter(status=ConnectionStatus.ACTIVE)


class Connection(models.Model):
    """One patient profile connected to one service, with the purposes the patient accepted.

    Made by the patient or a legal representative (`connected_by`). OAuth tokens carry the scope
    `connection:<public_id>`: the API finds the connection, hence the patient, from every token.
    """

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="connections", verbose_name="service")
    patient = models.ForeignKey(
        "accounts.Patient",
        on_delete=models.CASCADE,  # a connection means nothing without its profile
        related_name="service_connections",
        verbose_name="patient",
    )
    connected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,  # the audit log keeps who connected
        related_name="+",
        verbose_name="connecté par",
    )
    purposes = models.ManyToManyField(Purpose, related_name="connections", verbose_name="finalités acceptées")
    status = models.CharField("état", max_length=16, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE)
    made_while_minor = models.BooleanField("connecté pendant la minorité", default=False)
    connected_at = models.DateTimeField("connecté le", default=timezone.now)
    purposes_changed_at = models.DateTimeField("finalités modifiées le", null=True, blank=True)
    disconnected_at = models.DateTimeField("déconnecté le", null=True, blank=True)
    disconnect_reason = models.CharField(
        "raison de la déconnexion", max_length=16, choices=DisconnectReason.choices, blank=True
    )
    last_reminder_at = models.DateTimeField("dernier rappel le", null=True, blank=True)

    objects = ConnectionQuerySet.as_manager()

    class Meta:
        verbose_name = "service connecté"
        verbose_name_plural = "services connectés"
        constraints = [
            models.CheckConstraint(condition=Q(status__in=ConnectionStatus.values), name="connection_status_known"),
            models.UniqueConstraint(
                fields=["service", "patient"],
                condition=~Q(status=ConnectionStatus.DISCONNECTED),
                name="connection_one_live_per_service_and_patient",
            ),
            models.CheckConstraint(
                condition=Q(status=ConnectionStatus.DISCONNECTED, disconnected_at__isnull=False)
                | (~Q(status=ConnectionStatus.DISCONNECTED) & Q(disconnected_at__isnull=True)),
                name="connection_disconnected_has_date",
            ),
        ]

    def __str__(self) -> str:
        return f"connexion à {self.service.name}"

    @property
    def scope_tag(self) -> str:
        return f"connection:{self.public_id}"

    @property
    def is_active(self) -> bool:
        return self.status == ConnectionStatus.ACTIVE

    @property
    def needs_reapproval(self) -> bool:
        """Made for a minor who is now an adult and has not confirmed it since."""
        return self.made_while_minor and not self.patient.is_minor

    def granted_scopes(self) -> set[str]:
        return {scope for purpose in self.purposes.all() for scope in purpose.scope_list}

    def document_categories(self) -> set[str]:
        return {
            category
            for purpose in self.purposes.all()
            if Scope.DOCUMENTS_READ in purpose.scope_list
            for category in purpose.document_categories
        }


class ServiceReport(models.Model):
    """ "Signaler ce service": read by the referencing staff in the admin."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="reports", verbose_name="service")
    reason = models.CharField("motif", max_length=16, choices=ReportReason.choices)
    message = EncryptedTextField("message")
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,  # the report stays when the account goes
        related_name="+",
        verbose_name="signalé par",
    )
    reported_at = models.DateTimeField("signalé le", default=timezone.now)
    handled_at = models.DateTimeField("traité le", null=True, blank=True)

    class Meta:
        verbose_name = "signalement"
        verbose_name_plural = "signalements"
        constraints = [models.CheckConstraint(condition=Q(reason__in=ReportReason.values), name="report_reason_known")]

    def __str__(self) -> str:
        return f"signalement de {self.service.name}"


class AuthorizationCodeUse(models.Model):
    """An authorization code already exchanged for tokens, kept as its SHA-256 only, with the refresh-token
    family it started: a second exchange of the same code (RFC 6749 §4.1.2) revokes that whole family."""

    code_checksum = models.CharField("empreinte du code", max_length=64, unique=True)
    client_id = models.CharField("identifiant du client OAuth", max_length=100)
    connection = models.ForeignKey(
        Connection,
        null=True,
        on_delete=models.CASCADE,  # the trace of a code means nothing without its connection
        related_name="+",
        verbose_name="connexion",
    )
    token_family = models.UUIDField("famille de jetons", null=True)
    used_at = models.DateTimeField("utilisé le", default=timezone.now)
    replayed_at = models.DateTimeField("rejoué le", null=True, blank=True)

    class Meta:
        verbose_name = "code d’autorisation utilisé"
        verbose_name_plural = "codes d’autorisation utilisés"

    def __str__(self) -> str:
        return "code d’autorisation utilisé"
