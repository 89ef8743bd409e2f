"""Agent-facing admin: administrative identity only, never medical content. Issue 9 completes it."""

from django.contrib import admin

from accounts.models import LegalRepresentation, Patient


class RepresentativesInline(admin.TabularInline):
    model = LegalRepresentation
    fk_name = "represented"
    fields = ("representative", "kind", "started_on", "ended_on")
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name = "représentant légal"
    verbose_name_plural = "représentants légaux"

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("birth_name", "first_names", "birth_date", "postal_code")
    search_fields = ("=nir", "birth_name", "email")
    search_help_text = "Numéro de sécurité sociale complet, nom de naissance ou adresse e-mail"
    fields = (
        "nir",
        "birth_name",
        "used_name",
        "first_names",
        "birth_date",
        "sex",
        "birth_place_insee",
        "email",
        "phone",
        "address_line",
        "postal_code",
        "city",
        "deceased_on",
    )
    readonly_fields = fields  # civil status is corrected through INSEE, not here
    inlines = [RepresentativesInline]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
