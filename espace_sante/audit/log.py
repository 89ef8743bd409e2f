"""The one call that writes the access log: `record(action, actor=…, patient=…, target=…, **data)`.

Made by services and policy fetchers only. `data` must never hold medical content.
"""

from typing import TYPE_CHECKING, Any

from django.db import models

from espace_sante.audit.actions import Action, ActorRole
from espace_sante.audit.context import current
from espace_sante.audit.models import AuditEvent

if TYPE_CHECKING:
    from espace_sante.access.actor import Actor


def record(
    action: Action,
    *,
    actor: "Actor | None",
    patient=None,
    target: models.Model | None = None,
    target_label: str = "",
    **data: Any,
) -> AuditEvent:
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
        target_label=(target_label or (str(target) if target is not None else ""))[:200],
        request_id=context.request_id if context else None,
        ip_address=context.ip_address if context else None,
        data=data,
    )
    event.save()
    return event
