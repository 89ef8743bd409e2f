"""The access policy: every decision on medical data and on who may enter which space.

Predicates `can_<verb>_<object>(actor, obj) -> bool` decide; fetchers `<object>_for(actor, public_id)`
return the object or raise Http404 (missing and forbidden look the same) and trace the access.
Agents never get medical content. The domain issues add their predicates and fetchers here.
"""

from uuid import UUID

from django.http import Http404

from accounts.models import Patient
from activation.enums import SpaceStatus
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import ActorRole


def can_enter_patient_space(actor: Actor) -> bool:
    """The patient portal (dashboard, record, profile, messages, agenda, catalogue, settings):
    - a patient whose second factor was verified, with an insured profile,
    - whose own space is active (a closed space shows only its closure page).
    Professionals and agents have their own portals.
    """
    if not actor.is_verified_patient:
        return False
    return has_active_space(actor.patient)


def has_active_space(patient: Patient) -> bool:
    space = getattr(patient, "space", None)
    return space is not None and space.status == SpaceStatus.ACTIVE


def can_manage_closed_space(actor: Actor) -> bool:
    """The closure page (reopen, receipts): a verified patient whose own space is closed."""
    if not actor.is_verified_patient:
        return False
    space = getattr(actor.patient, "space", None)
    return space is not None and space.status == SpaceStatus.CLOSED


def can_enter_professional_space(actor: Actor) -> bool:
    """The professional portal (/pro/): a professional whose second factor (TOTP) was verified."""
    return actor.is_verified_professional


def can_enter_agent_space(actor: Actor) -> bool:
    """The agents' back-office (/admin/): an active staff agent account with a verified second factor."""
    if actor.role != ActorRole.AGENT:
        return False
    if not actor.verified:
        return False
    return actor.user is not None and actor.user.is_active and actor.user.is_staff


def can_act_for(actor: Actor, patient: Patient) -> bool:
    """May act for `patient` in the patient portal:
    - the patient themself;
    - a legal representative with an open representation (parent of a minor, tutor).
    """
    return actor.acts_for(patient)


def represented_profile_for(actor: Actor, public_id: UUID) -> Patient:
    """A profile the actor may switch to (their own or a represented one); 404 otherwise."""
    for patient in actor.profiles:
        if patient.public_id == public_id and can_act_for(actor, patient):
            return patient
    raise Http404


# --- Administrative documents of a space (receipts): not medical, but personal ------------------------------


def attached_children_for(actor: Actor) -> list[Patient]:
    """The children attached to the actor's own Vitale card, whatever the state of their space."""
    if not actor.is_verified_patient:
        return []
    return list(
        Patient.objects.filter(card_holder=actor.patient, deceased_on__isnull=True)
        .select_related("space")
        .order_by("birth_date", "pk")
    )


def attached_child_for(actor: Actor, public_id: UUID) -> Patient:
    for child in attached_children_for(actor):
        if child.public_id == public_id:
            return child
    raise Http404


def can_view_space_receipts(actor: Actor, patient: Patient) -> bool:
    """Receipts (opposition, closure) of a space may be downloaded by:
    - the person, or a representative acting for them;
    - the holder of the Vitale card the person is attached to (a parent who opposed for a child).
    Agents get them in the admin, not here.
    """
    if not actor.is_verified_patient:
        return False
    if actor.patient.pk == patient.pk:
        return True
    if patient.card_holder_id == actor.patient.pk:
        return True
    return can_act_for(actor, patient)


def opposition_for(actor: Actor, public_id: UUID):
    from activation.models import Opposition

    opposition = Opposition.objects.select_related("space__patient").filter(public_id=public_id).first()
    if opposition is None or not can_view_space_receipts(actor, opposition.space.patient):
        raise Http404
    return opposition


def closure_for(actor: Actor, public_id: UUID):
    from activation.models import Closure

    closure = Closure.objects.select_related("space__patient").filter(public_id=public_id).first()
    if closure is None or not can_view_space_receipts(actor, closure.space.patient):
        raise Http404
    return closure
