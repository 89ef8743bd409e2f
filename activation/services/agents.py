"""What agents do for a person at the phone or the desk, beyond oppositions and new codes (issue 9)."""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import ContactChangeRequest, Patient
from accounts.services import ContactChangeRefused, agent_contact_change_request
from activation.enums import SpaceStatus
from activation.models import HealthSpace, ProvisionalCode
from activation.services.spaces import space_close
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record


class NothingToDo(Exception):
    """The request changes nothing (same contacts, already recorded …): French message in args[0]."""


def contacts_update(*, patient: Patient, email: str, phone: str, check_note: str, by: Actor) -> "ContactChangeRequest":
    """Record contacts typed after checking identity (the note says how). They take effect only once the
    person confirms them (accounts.services, "Contacts typed by an agent"): an agent never redirects a
    person's login codes, password resets or provisional codes."""
    try:
        return agent_contact_change_request(patient=patient, email=email, phone=phone, check_note=check_note, by=by)
    except ContactChangeRefused as refusal:
        raise NothingToDo(str(refusal)) from refusal


@transaction.atomic
def death_record(*, patient: Patient, died_on: datetime.date, by: Actor) -> None:
    """Record a death: the space is closed (L.1111-13-1 IV) and the login disabled."""
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    if locked.deceased_on is not None:
        raise NothingToDo("Le décès de cette personne est déjà enregistré.")
    Patient.objects.filter(pk=patient.pk).update(deceased_on=died_on, updated_at=timezone.now())
    patient.deceased_on = died_on
    record(Action.DEATH_RECORDED, actor=by, patient=patient)
    space = HealthSpace.objects.filter(patient=patient).first()
    if space is not None and space.status in (SpaceStatus.ACTIVE, SpaceStatus.OPEN):
        space_close(space=space, by=by, deletion_requested=False, reason="death")
    elif space is not None and space.status == SpaceStatus.INFORMED:
        ProvisionalCode.objects.filter(patient=patient, used_at=None, voided_at=None).update(voided_at=timezone.now())
    if locked.user_id:
        type(locked.user).objects.filter(pk=locked.user_id).update(is_active=False)
