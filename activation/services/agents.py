"""What agents do for a person at the phone or the desk, beyond oppositions and new codes (issue 9)."""

import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Patient
from activation.enums import SpaceStatus
from activation.models import HealthSpace, ProvisionalCode
from activation.services.spaces import space_close
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record


class NothingToDo(Exception):
    """The request changes nothing (same contacts, already recorded …): French message in args[0]."""


@transaction.atomic
def contacts_update(*, patient: Patient, email: str, phone: str, check_note: str, by: Actor) -> None:
    """Update the e-mail or phone after checking identity; the note says how it was checked."""
    locked = Patient.objects.select_for_update().get(pk=patient.pk)
    changes = {}
    if email != locked.email:
        changes["email"] = email
    if phone != locked.phone:
        changes["phone"] = phone
    if not changes:
        raise NothingToDo("Les coordonnées saisies sont celles déjà enregistrées.")
    Patient.objects.filter(pk=patient.pk).update(**changes, updated_at=timezone.now())
    if "email" in changes and locked.user_id:
        type(locked.user).objects.filter(pk=locked.user_id).update(email=email)
    # Unused codes went to the old contact: they stop working.
    ProvisionalCode.objects.filter(patient=patient, used_at=None, voided_at=None).update(voided_at=timezone.now())
    record(
        Action.CONTACTS_UPDATED,
        actor=by,
        patient=patient,
        fields=sorted(changes),
        check=check_note[:200],
    )
    for name, value in changes.items():
        setattr(patient, name, value)


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
