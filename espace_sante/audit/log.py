"""The one call that writes the access log: `record(action, actor=…, patient=…, target=…, **details)`.

Made by services and policy fetchers only. An event never holds medical content (titles included):
- the object is named by its type and public id; its stored label is its kind ("document", "conversation"),
  a professional's name (the target is the professional) or one of the fixed `TARGET_LABELS`; what a
  reader is shown is resolved when the history is read, by the access policy (`policy.history_entries_for`);
- each detail key must be declared for the action in `DETAILS`, with a kind that cannot carry prose.
A call that breaks either rule raises `MedicalContentRefused` before anything is written.
"""

import re
from typing import TYPE_CHECKING, Any

from django.db import models

from espace_sante.audit.actions import CODE_PATTERN, DETAILS, TARGET_LABELS, TEXT_MAX, Action, ActorRole, Detail
from espace_sante.audit.context import current
from espace_sante.audit.models import AuditEvent

if TYPE_CHECKING:
    from espace_sante.access.actor import Actor

_CODE = re.compile(CODE_PATTERN)

# Models whose `str()` is known to hold no medical content (a name, a kind and a date, a reference):
# their label is `str(target)`. Any other model is named by its kind (verbose_name) only: a document is
# "document", never its title. tests/audit/test_no_medical_content.py checks each entry of the medical apps.
SAFE_STR_MODELS = frozenset(
    {
        "accounts.Establishment",
        "accounts.Patient",
        "accounts.Professional",
        "accounts.SoftwareClient",
        "activation.HealthSpace",
        "activation.Opposition",
        "activation.Closure",
        "agenda.AgendaEntry",
        "agenda.AgendaSettings",
        "agenda.PreventionItem",
        "catalogue.Connection",
        "catalogue.Service",
        "dossier.EmergencyAccess",
        "profil.HealthProfile",
        "profil.ProfileEntry",
        "profil.Measure",
        "profil.ProfileProfessional",
    }
)


class MedicalContentRefused(ValueError):
    """A call to `record()` tried to store something the log may not hold."""


def target_label_of(target: models.Model) -> str:
    if target._meta.label in SAFE_STR_MODELS:
        return str(target)
    return str(target._meta.verbose_name)


def check_details(action: str, details: dict[str, Any]) -> None:
    allowed = DETAILS.get(action)
    if allowed is None:
        raise MedicalContentRefused(f"{action}: declare its detail keys in espace_sante/audit/actions.py DETAILS")
    for key, value in details.items():
        kind = allowed.get(key)
        if kind is None:
            raise MedicalContentRefused(f"{action}: detail {key!r} is not declared in DETAILS")
        if not _fits(kind, value):
            raise MedicalContentRefused(f"{action}: detail {key!r} is not a {kind}")


def _fits(kind: str, value: Any) -> bool:  # noqa: PLR0911 - one line per kind
    if kind == Detail.FLAG:
        return isinstance(value, bool)
    if kind == Detail.COUNT:
        return isinstance(value, int) and not isinstance(value, bool) and value >= 0
    if kind == Detail.CODE:
        return isinstance(value, str) and bool(_CODE.match(value))
    if kind == Detail.CODES:
        return isinstance(value, list | tuple) and all(
            (isinstance(item, int) and not isinstance(item, bool)) or (isinstance(item, str) and _CODE.match(item))
            for item in value
        )
    if kind == Detail.TEXT:
        return isinstance(value, str) and len(value) <= TEXT_MAX
    return False


def record(
    action: Action,
    *,
    actor: "Actor | None",
    patient=None,
    target: models.Model | None = None,
    target_label: str = "",
    **details: Any,
) -> AuditEvent:
    """`target_label`, for an event without a target object: one of TARGET_LABELS."""
    check_details(action, details)
    if target_label and target_label not in TARGET_LABELS:
        raise MedicalContentRefused(f"{action}: target_label must be one of TARGET_LABELS")
    if not target_label and target is not None:
        target_label = target_label_of(target)
    context = current.get()
    role = actor.role if actor is not None else ActorRole.SYSTEM
    label = actor.label if actor is not None else "Mon espace santé"
    event = AuditEvent(
        action=action,
        actor_role=role,
        actor_user=actor.user if actor is not None and actor.user is not None else None,
        actor_label=label[:200],
        acting_for=actor.acting_for if actor is not None and actor.is_representing else None,
        patient=patient,
        target_type=target._meta.label if target is not None else "",
        target_id=str(getattr(target, "public_id", "")) if target is not None else "",
        target_label=target_label[:200],
        request_id=context.request_id if context else None,
        ip_address=context.ip_address if context else None,
        data=details,
    )
    event.save()
    return event
