"""The access policy: every decision on medical data and on who may enter which space.

Predicates `can_<verb>_<object>(actor, obj) -> bool` decide; fetchers `<object>_for(actor, public_id)`
return the object or raise Http404 (missing and forbidden look the same) and trace the access.
Agents never get medical content. The domain issues add their predicates and fetchers here.
"""

from uuid import UUID

from django.http import Http404

from accounts.models import Patient
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import ActorRole


def can_enter_patient_space(actor: Actor) -> bool:
    """The patient portal (dashboard, record, profile, messages, agenda, catalogue, settings):
    - a patient whose second factor was verified, with an insured profile.
    Professionals and agents have their own portals.
    """
    return actor.is_verified_patient


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
