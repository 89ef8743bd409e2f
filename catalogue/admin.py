"""The referencing staff's back-office (group "Référencement"): services, their purposes, reports.

Status changes go through audited actions (suspend, put back online, dereference), never the form.
Nothing medical is registered here: connections and exchanged data stay out of the admin.
"""

from django.contrib import admin, messages
from oauth2_provider.models import get_access_token_model, get_grant_model, get_id_token_model, get_refresh_token_model

from catalogue import services
from catalogue.enums import ServiceStatus
from catalogue.models import Purpose, Service, ServiceReport

# Tokens and codes are secrets: never browsable, even by a superuser.
for model in (get_access_token_model(), get_refresh_token_model(), get_grant_model(), get_id_token_model()):
    if admin.site.is_registered(model):
        admin.site.unregister(model)


class PurposeInline(admin.TabularInline):
    model = Purpose
    extra = 1
    fields = ("position", "label", "explanation", "scopes", "document_categories")


@admin.register(Service)
class ServiceAdmin(admin.ModelAdmin):
    list_display = ("name", "publisher", "category", "status", "referenced_on")
    list_filter = ("status", "category")
    search_fields = ("name", "publisher")
    readonly_fields = ("status", "status_changed_at", "public_id")
    inlines = [PurposeInline]
    actions = ["suspend", "put_online", "dereference"]

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
