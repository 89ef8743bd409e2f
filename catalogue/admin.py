"""The referencing staff's back-office (group "Référencement"): services, their purposes, reports, and each
service's OAuth client.

Status changes go through audited actions (suspend, put back online, dereference), never the form; the OAuth
client (public or private_key_jwt, redirect URIs, origins, keys) is set and rotated on its own confirmed,
audited pages (catalogue/oauth_clients.py). Nothing medical is registered here: connections and exchanged
data stay out of the admin.
"""

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from oauth2_provider.models import get_access_token_model, get_grant_model, get_id_token_model, get_refresh_token_model

from catalogue import oauth_clients, services
from catalogue.enums import ServiceStatus
from catalogue.models import Purpose, Service, ServiceReport

CLIENT_PERMISSION = "catalogue.manage_oauth_client"

# Tokens and codes are secrets: never browsable, even by a superuser.
for model in (get_access_token_model(), get_refresh_token_model(), get_grant_model(), get_id_token_model()):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class PurposeInline(admin.TabularInline):
    model = Purpose
    extra = 1
    fields = ("position", "label", "explanation", "scopes", "document_categories")


def _lines(value: str) -> list[str]:
    return value.split()


class OAuthClientForm(forms.Form):
    confidential = forms.TypedChoiceField(
        label="Type de client",
        choices=[
            ("0", "Public : application sans serveur (navigateur, mobile), PKCE S256, sans secret"),
            ("1", "Confidentiel : le serveur du service signe ses demandes avec sa clé privée (private_key_jwt)"),
        ],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
    )
    redirect_uris = forms.CharField(
        label="Adresses de retour (redirect_uri)",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Une par ligne, en https://, sans fragment ni joker.",
    )
    allowed_origins = forms.CharField(
        label="Origines autorisées (CORS)",
        widget=forms.Textarea(attrs={"rows": 2}),
        required=False,
        help_text="Pour une application qui appelle l’API depuis le navigateur : https://app.example, une par ligne.",
    )
    jwks_uri = forms.CharField(label="Adresse des clés publiques (jwks_uri)", required=False, max_length=200)
    jwks = forms.CharField(
        label="Clés publiques (JWKS)",
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="Client confidentiel : le document JWKS de ses clés publiques, ou son adresse ci-dessus.",
    )

    def clean_jwks(self):
        raw = self.cleaned_data["jwks"].strip()
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ValidationError("Le JWKS doit être un document JSON.") from None

    def client_settings(self) -> oauth_clients.ClientSettings:
        data = self.cleaned_data
        return oauth_clients.ClientSettings(
            confidential=data["confidential"],
            redirect_uris=_lines(data["redirect_uris"]),
            allowed_origins=_lines(data["allowed_origins"]),
            jwks_uri=data["jwks_uri"].strip(),
            jwks=data["jwks"],
        )


class RotateForm(forms.Form):
    confirm = forms.BooleanField(
        label="Je confirme : l’ancien identifiant et tous ses jetons cessent de fonctionner",
        error_messages={"required": "Cochez la case pour confirmer."},
    )


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "publisher", "category", "status", "referenced_on")
    list_filter = ("status", "category")
    search_fields = ("name", "publisher")
    readonly_fields = ("status", "status_changed_at", "public_id", "oauth_client_id", "oauth_jwks_uri")
    exclude = ("oauth_jwks",)
    inlines = [PurposeInline]
    actions = ["suspend", "put_online", "dereference"]
    change_form_template = "admin/catalogue/service/change_form.html"

    def get_urls(self):
        own = [
            path(
                "<int:pk>/client-oauth/",
                self.admin_site.admin_view(self.oauth_client),
                name="catalogue_service_oauth_client",
            ),
            path(
                "<int:pk>/client-oauth/renouveler/",
                self.admin_site.admin_view(self.oauth_client_rotate),
                name="catalogue_service_oauth_rotate",
            ),
        ]
        return own + super().get_urls()

    def _context(self, request, service: Service, title: str, **extra) -> dict:
        return {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": service,
            "title": title,
            **extra,
        }

    def oauth_client(self, request, pk: int):
        """Create or change the service's OAuth client; its client_id is shown here (it is no secret)."""
        if not request.user.has_perm(CLIENT_PERMISSION):
            raise PermissionDenied
        service = get_object_or_404(Service, pk=pk)
        application = service.application
        initial = {"confidential": "0"}
        if application is not None:
            initial = {
                "confidential": "1" if application.client_type == application.CLIENT_CONFIDENTIAL else "0",
                "redirect_uris": "\n".join(application.redirect_uris.split()),
                "allowed_origins": "\n".join(application.allowed_origins.split()),
                "jwks_uri": service.oauth_jwks_uri,
                "jwks": json.dumps(service.oauth_jwks, indent=2) if service.oauth_jwks else "",
            }
        form = OAuthClientForm(request.POST or None, initial=initial)
        if form.is_valid():
            try:
                application = oauth_clients.oauth_client_set(
                    service=service, settings=form.client_settings(), by=request.actor
                )
            except ValidationError as error:
                for name, problems in error.message_dict.items():
                    form.add_error(name if name in form.fields else None, problems)
            else:
                messages.success(
                    request, f"Client OAuth enregistré. Identifiant (client_id) : {application.client_id}"
                )
                return redirect(reverse("admin:catalogue_service_oauth_client", args=[service.pk]))
        context = self._context(request, service, f"Client OAuth — {service.name}", form=form, application=application)
        return TemplateResponse(request, "admin/catalogue/service/oauth_client.html", context)

    def oauth_client_rotate(self, request, pk: int):
        """A new client_id; the old one and all its tokens stop working (confirmation required)."""
        if not request.user.has_perm(CLIENT_PERMISSION):
            raise PermissionDenied
        service = get_object_or_404(Service, pk=pk)
        form = RotateForm(request.POST or None)
        if form.is_valid():
            try:
                application = oauth_clients.oauth_client_rotate(service=service, by=request.actor)
            except services.NotAllowed as error:
                messages.error(request, str(error))
            else:
                messages.success(
                    request, f"Nouvel identifiant (client_id) : {application.client_id}. L’ancien est révoqué."
                )
            return redirect(reverse("admin:catalogue_service_oauth_client", args=[service.pk]))
        context = self._context(
            request,
            service,
            f"Renouveler le client OAuth — {service.name}",
            form=form,
            application=service.application,
        )
        return TemplateResponse(request, "admin/catalogue/service/oauth_rotate.html", context)

    def _set_status(self, request, queryset, status: str) -> None:
        done = 0
        for service in queryset:
            try:
                services.service_status_set(service=service, status=status, by=request.actor)
                done += 1
            except services.NotAllowed as error:
                self.message_user(request, f"{service.name} : {error}", messages.ERROR)
        self.message_user(request, f"{done} service(s) : statut « {ServiceStatus(status).label} ».")

    @admin.action(description="Suspendre les services sélectionnés", permissions=["suspend"])
    def suspend(self, request, queryset) -> None:
        self._set_status(request, queryset, ServiceStatus.SUSPENDED)

    @admin.action(description="Remettre en ligne les services sélectionnés", permissions=["suspend"])
    def put_online(self, request, queryset) -> None:
        self._set_status(request, queryset, ServiceStatus.ONLINE)

    @admin.action(
        description="Déréférencer (déconnecte tous les patients et les prévient)", permissions=["dereference"]
    )
    def dereference(self, request, queryset) -> None:
        for service in queryset:
            services.service_dereference(service=service, by=request.actor)
        self.message_user(request, f"{queryset.count()} service(s) déréférencé(s) ; les patients sont prévenus.")

    def has_suspend_permission(self, request) -> bool:
        return request.user.has_perm("catalogue.suspend_service")

    def has_dereference_permission(self, request) -> bool:
        return request.user.has_perm("catalogue.dereference_service")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # a service is dereferenced, never deleted (connections and history refer to it)


@admin.register(ServiceReport)
class ServiceReportAdmin(admin.ModelAdmin):
    list_display = ("service", "reason", "reported_at", "handled_at")
    list_filter = ("reason", "handled_at")
    readonly_fields = ("service", "reason", "message", "reported_at", "handled_at")
    fields = readonly_fields
    actions = ["mark_handled"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Marquer comme traités", permissions=["change"])
    def mark_handled(self, request, queryset) -> None:
        count = services.reports_mark_handled(reports=queryset, by=request.actor)
        self.message_user(request, f"{count} signalement(s) marqué(s) comme traité(s).")
