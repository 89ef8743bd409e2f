"""Supervisors' lists: spaces by state and département, campaign batches, deletion deadlines; CSV export.

Administrative data only: nothing medical is registered in the admin (see tests/activation/test_backoffice.py).
"""

import csv
from datetime import timedelta

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils import timezone

from accounts.models import department_q
from activation.models import DELETION_DEADLINE, CampaignChunk, HealthSpace
from espace_sante.access import policy

DEPARTMENTS = ("31", "44", "75", "80", "13", "69", "59", "33")


class DepartmentFilter(admin.SimpleListFilter):
    title = "département"
    parameter_name = "departement"

    def lookups(self, request, model_admin):
        agent = request.actor.agent
        codes = agent.department_codes if agent is not None and agent.department_codes else DEPARTMENTS
        return [(code, code) for code in codes]

    def queryset(self, request, queryset):
        if self.value():  # one of lookups(): the changelist refuses any other value
            return queryset.filter(department_q([self.value()], path="patient__"))
        return queryset


class DeletionRequestFilter(admin.SimpleListFilter):
    title = "demande de suppression"
    parameter_name = "suppression"

    def lookups(self, request, model_admin):
        return [("en_cours", "en attente"), ("en_retard", "délai de trois mois bientôt dépassé (< 15 jours)")]

    def queryset(self, request, queryset):
        pending = queryset.filter(status="closed", deletion_requested_at__isnull=False)
        if self.value() == "en_cours":
            return pending
        if self.value() == "en_retard":
            return pending.filter(deletion_requested_at__lte=timezone.now() - DELETION_DEADLINE + timedelta(days=15))
        return queryset


CSV_COLUMNS = [
    "département",
    "état",
    "informé le",
    "activé le",
    "opposition le",
    "clôturé le",
    "suppression demandée le",
    "échéance",
]


@admin.action(description="Exporter la sélection en CSV")
def export_csv(modeladmin, request, queryset):
    if not request.user.has_perm("activation.export_lists"):
        raise PermissionDenied
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="espaces.csv"'
    writer = csv.writer(response, delimiter=";")
    writer.writerow(
        [
            "département",
            "état",
            "informé le",
            "activé le",
            "opposition le",
            "clôturé le",
            "suppression demandée le",
            "échéance",
        ]
    )
    for space in queryset.select_related("patient").order_by("pk").iterator(chunk_size=2000):
        deadline = space.deletion_requested_at + DELETION_DEADLINE if space.deletion_requested_at else None
        writer.writerow(
            [
                space.patient.department,
                space.get_status_display(),
                *[
                    f"{value:%Y-%m-%d}" if value else ""
                    for value in (
                        space.informed_at,
                        space.activated_at,
                        space.opposed_at,
                        space.closed_at,
                        space.deletion_requested_at,
                        deadline,
                    )
                ],
            ]
        )
    return response


@admin.register(HealthSpace)
class HealthSpaceAdmin(admin.ModelAdmin):
    list_display = ("department", "status", "informed_at", "activated_at", "closed_at", "deletion_deadline")
    list_filter = ("status", DepartmentFilter, DeletionRequestFilter)
    list_select_related = ("patient",)
    actions = [export_csv]
    show_full_result_count = False
    fields = ("status", "informed_at", "opened_at", "activated_at", "opposed_at", "closed_at", "deletion_requested_at")
    readonly_fields = fields

    @admin.display(description="département")
    def department(self, space: HealthSpace) -> str:
        return space.patient.department

    @admin.display(description="échéance de suppression")
    def deletion_deadline(self, space: HealthSpace):
        return (space.deletion_requested_at + DELETION_DEADLINE).date() if space.deletion_requested_at else "—"

    def get_queryset(self, request):
        """A CPAM supervisor's lists cover the caisse's département(s) (policy.patients_for_agent)."""
        return policy.patients_for_agent(request.actor, super().get_queryset(request), path="patient__")

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not request.user.has_perm("activation.export_lists"):
            actions.pop("export_csv", None)
        return actions

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CampaignChunk)
class CampaignChunkAdmin(admin.ModelAdmin):
    list_display = ("run", "number", "status", "emails", "letters", "skipped", "finished_at")
    list_filter = ("status", "run")
    fields = ("run", "number", "status", "emails", "letters", "skipped", "finished_at")
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
