"""The agents' groups, with the least rights that fit (issue 9). Created after every migration."""

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

GROUPS: dict[str, list[tuple[str, str]]] = {
    "Conseiller CPAM": [
        ("accounts", "view_patient"),
        ("activation", "view_healthspace"),
        ("activation", "add_opposition"),
        ("activation", "view_opposition"),
        ("activation", "add_provisionalcode"),
        ("activation", "update_contacts"),
        ("activation", "close_space"),
        ("activation", "record_death"),
        ("activation", "decide_child_profile"),
    ],
    "Conseiller France services": [
        ("accounts", "view_patient"),
        ("activation", "view_healthspace"),
        ("activation", "add_opposition"),
        ("activation", "view_opposition"),
        ("activation", "add_provisionalcode"),
        ("activation", "update_contacts"),
        ("activation", "decide_child_profile"),
    ],
    "Superviseur": [
        ("accounts", "view_patient"),
        ("activation", "view_healthspace"),
        ("activation", "view_campaignchunk"),
        ("activation", "view_opposition"),
        ("activation", "export_lists"),
    ],
    "Référencement": [
        ("catalogue", "view_service"),
        ("catalogue", "add_service"),
        ("catalogue", "change_service"),
        ("catalogue", "suspend_service"),
        ("catalogue", "dereference_service"),
        ("catalogue", "manage_oauth_client"),
        ("catalogue", "view_purpose"),
        ("catalogue", "add_purpose"),
        ("catalogue", "change_purpose"),
        ("catalogue", "delete_purpose"),
        ("catalogue", "view_servicereport"),
        ("catalogue", "change_servicereport"),
    ],
    # Establishments and their software clients (document-sharing API, issue 17): no deletion, no patient.
    "Établissements": [
        ("accounts", "view_establishment"),
        ("accounts", "add_establishment"),
        ("accounts", "change_establishment"),
        ("accounts", "view_softwareclient"),
        ("accounts", "add_softwareclient"),
        ("accounts", "change_softwareclient"),
        ("accounts", "manage_software_oauth_client"),
    ],
}


def ensure_groups(**kwargs) -> None:
    """post_migrate: create the groups and set exactly their permissions (idempotent)."""
    for name, wanted in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        if not wanted:
            continue
        condition = Q(pk__in=[])
        for app_label, codename in wanted:
            condition |= Q(content_type__app_label=app_label, codename=codename)
        permissions = list(Permission.objects.filter(condition))
        if len(permissions) == len(wanted):  # all apps migrated
            group.permissions.set(permissions)
