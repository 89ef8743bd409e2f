"""The "Établissements" staff's pages: establishments (FINESS) and their software clients (issue 17).

A software client's OAuth client is created with it (confidential, client credentials, private_key_jwt only);
its keys are a public JWKS document and/or a jwks_uri, checked as a connected service's. The professional a
software acts for is named by RPPS (no list of professionals is offered). Rotation is an action: a new
client_id, every token of the old one revoked. Nothing is deleted (accesses are traced under them):
deactivate instead. Every write is audited.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError

from accounts import establishments
from accounts.models import Establishment, Professional, SoftwareClient

CLIENT_PERMISSION = "accounts.manage_software_oauth_client"


@admin.register(Establishment)
class EstablishmentAdmin(admin.ModelAdmin):
    list_display = ("name", "finess", "kind", "active", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("name", "=finess")
    fields = ("finess", "name", "kind", "active")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        establishments.establishment_saved(establishment=obj, created=not change, by=request.actor)


class SoftwareClientForm(forms.ModelForm):
    rpps = forms.CharField(
        label="RPPS du professionnel pour qui il agit",
        max_length=11,
        required=False,
        help_text="Vide : le logiciel agit pour l’établissement lui-même.",
    )
    oauth_jwks_uri = forms.URLField(
        label="Adresse des clés publiques du client (jwks_uri)", required=False, assume_scheme="https"
    )

    class Meta:
        model = SoftwareClient
        fields = ("name", "establishment", "oauth_jwks", "oauth_jwks_uri", "active")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.professional_id:
            self.fields["rpps"].initial = self.instance.professional.rpps

    def clean_rpps(self) -> Professional | None:
        rpps = self.cleaned_data["rpps"].strip()
        if not rpps:
            return None
        professional = Professional.objects.select_related("user").filter(rpps=rpps).first()
        if professional is None:
            raise ValidationError("Aucun professionnel connu avec ce numéro RPPS.")
        if not professional.user.is_active:
            raise ValidationError("Ce professionnel n’est pas actif : un logiciel ne peut agir pour lui.")
        return professional

    def clean(self):
        cleaned = super().clean()
        try:
            establishments.keys_check(jwks=cleaned.get("oauth_jwks"), jwks_uri=cleaned.get("oauth_jwks_uri", ""))
        except ValidationError as error:
            for name, problems in error.message_dict.items():
                self.add_error(name, problems)
        return cleaned


@admin.register(SoftwareClient)
class SoftwareClientAdmin(admin.ModelAdmin):
    form = SoftwareClientForm
    list_display = ("name", "establishment", "professional", "active", "oauth_client_id")
    list_filter = ("active",)
    search_fields = ("name", "establishment__name", "=establishment__finess")
    readonly_fields = ("public_id", "oauth_client_id")
    fields = (
        "name",
        "establishment",
        "rpps",
        "oauth_jwks",
        "oauth_jwks_uri",
        "active",
        "public_id",
        "oauth_client_id",
    )
    actions = ["rotate"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change) -> None:
        obj.professional = form.cleaned_data.get("rpps")
        software = establishments.software_client_save(software=obj, by=request.actor)
        if not change:
            messages.info(request, f"Client OAuth créé. Identifiant (client_id) : {software.oauth_client_id}")

    @admin.action(
        description="Renouveler le client OAuth (nouvel identifiant, jetons en cours révoqués)",
        permissions=["manage_client"],
    )
    def rotate(self, request, queryset) -> None:
        for software in queryset:
            application = establishments.software_client_rotate(software=software, by=request.actor)
            self.message_user(request, f"{software.name} : nouvel identifiant (client_id) {application.client_id}.")

    def has_manage_client_permission(self, request) -> bool:
        return request.user.has_perm(CLIENT_PERMISSION)
