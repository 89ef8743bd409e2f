"""Identification with a provisional code, then activation or opposition; new codes on request.

Every mismatch gets the same answer (no hint which field was wrong). Attempts are slowed down per client
address and per NIR with growing delays in Redis, never a permanent lock; a code that five times comes
with wrong card details is voided. A global failure rate is watched and logged.
"""

import logging
import time
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from django.core.cache import cache
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.enums import UserKind
from accounts.models import ContactChangeRequest, Patient, User
from activation import codes
from activation.enums import CodeChannel, OppositionChannel, SpaceStatus
from activation.models import CODE_VALIDITY, MAX_CODE_FAILURES, HealthSpace, Opposition, ProvisionalCode
from activation.services.spaces import (
    ConcurrentChange,
    InvalidTransition,
    medical_record_ensure,
    new_reference,
    space_transition,
)
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.lib.tasks import enqueue_on_commit
from espace_sante.lib.throttle import Throttle, admit_all
from espace_sante.outbox.services import email_enqueue, sms_enqueue

logger = logging.getLogger(__name__)

BY_ADDRESS = Throttle("activation-ip", free_attempts=10, base_delay_seconds=30, max_delay_seconds=3600)
BY_NIR = Throttle("activation-nir", free_attempts=5, base_delay_seconds=30, max_delay_seconds=3600)
NEW_CODE_BY_ADDRESS = Throttle("new-code-ip", free_attempts=5, base_delay_seconds=60, max_delay_seconds=3600)
NEW_CODE_BY_NIR = Throttle("new-code-nir", free_attempts=3, base_delay_seconds=300, max_delay_seconds=86400)
GLOBAL_ALERT_PER_MINUTE = 2000


class Outcome(StrEnum):
    OK = "ok"
    MISMATCH = "mismatch"
    THROTTLED = "throttled"
    EXPIRED = "expired"
    USED = "used"
    VOIDED = "voided"
    ALREADY_ACTIVE = "already_active"
    CLOSED = "closed"


@dataclass(frozen=True)
class Identification:
    outcome: Outcome
    code: ProvisionalCode | None = None
    retry_after: int = 0

    @property
    def patient(self) -> Patient | None:
        return self.code.patient if self.code else None


def card_holder(patient: Patient) -> Patient:
    """Whose NIR and card identify the person: the card holder for an attached child, else oneself."""
    return patient.card_holder or patient


def _serial_digits(value: str) -> str:
    return "".join(c for c in value if c.isdigit())


def _watch_global_failures() -> None:
    key = f"activation-failures:{int(time.time() // 60)}"
    cache.add(key, 0, timeout=120)
    count = cache.incr(key)
    if count == GLOBAL_ALERT_PER_MINUTE:
        logger.warning("activation: %s failed identifications this minute (possible attack)", count)


def _fail(*, actor: Actor, code: ProvisionalCode | None) -> None:
    _watch_global_failures()
    if code is None:
        record(Action.CODE_CHECK_FAILED, actor=actor)
        return
    ProvisionalCode.objects.filter(pk=code.pk).update(failed_attempts=F("failed_attempts") + 1)
    voided = ProvisionalCode.objects.filter(
        pk=code.pk, voided_at=None, used_at=None, failed_attempts__gte=MAX_CODE_FAILURES
    ).update(voided_at=timezone.now())
    record(Action.CODE_CHECK_FAILED, actor=actor, patient=code.patient)
    if voided:
        record(Action.CODE_VOIDED, actor=actor, patient=code.patient, reason="too_many_failures")


def code_identify(*, code: str, nir: str, card_type: str, serial: str, address: str, actor: Actor) -> Identification:
    """Check a code with the card holder's NIR, card model and serial number."""
    # The attempt is taken before the lookup; the address first, so a request refused for its address
    # spends nothing of the NIR's attempts (espace_sante.lib.throttle.admit_all).
    wait = admit_all((BY_ADDRESS, address), (BY_NIR, nir))
    if wait:
        return Identification(Outcome.THROTTLED, retry_after=wait)
    compact = codes.normalize(code)
    found = None
    if compact is not None:
        found = (
            ProvisionalCode.objects.select_related("patient__card_holder", "patient__space")
            .filter(code_hash=codes.code_hash(compact))
            .first()
        )
    holder = card_holder(found.patient) if found else None
    matches = (
        holder is not None
        and holder.nir == nir
        and holder.vitale_card_type == card_type
        and _serial_digits(holder.vitale_serial) == _serial_digits(serial)
        and bool(_serial_digits(serial))
    )
    if not matches:
        _fail(actor=actor, code=found)
        return Identification(Outcome.MISMATCH)
    BY_NIR.reset(nir)
    BY_ADDRESS.refund(address)
    found.refresh_from_db()
    state = found.state
    if state != "valid":
        return Identification(Outcome(state), code=found)
    space = getattr(found.patient, "space", None)
    if space is not None and space.status == SpaceStatus.ACTIVE:
        return Identification(Outcome.ALREADY_ACTIVE, code=found)
    if space is not None and space.status in (SpaceStatus.CLOSED, SpaceStatus.DELETED):
        return Identification(Outcome.CLOSED, code=found)
    return Identification(Outcome.OK, code=found)


def _consume(code: ProvisionalCode) -> None:
    """Single use: compare-and-set used_at; a second submit finds it used and stops."""
    used = ProvisionalCode.objects.filter(pk=code.pk, used_at=None, voided_at=None).update(used_at=timezone.now())
    if used != 1:
        raise ConcurrentChange


def _space_for(patient: Patient) -> HealthSpace:
    """The person's space; someone informed outside a campaign (new code for an opposed person) has one."""
    space, _ = HealthSpace.objects.get_or_create(patient=patient, defaults={"informed_at": timezone.now()})
    return space


@transaction.atomic
def opposition_record(
    *, patient: Patient, channel: OppositionChannel, by: Actor, code: ProvisionalCode | None
) -> Opposition:
    """Record an opposition (online, by an agent, or by a parent for a child) and queue its receipt."""
    space = HealthSpace.objects.select_for_update().get(pk=_space_for(patient).pk)
    if code is not None:
        _consume(code)
    space_transition(space, to=SpaceStatus.OPPOSED, by=by, channel=channel)
    opposition = Opposition.objects.create(
        space=space,
        reference=new_reference("O"),
        channel=channel,
        recorded_by=by.user if by.user is not None and channel != OppositionChannel.ONLINE else None,
    )
    record(Action.OPPOSITION_RECORDED, actor=by, patient=patient, target=opposition, channel=channel)
    from activation.tasks import render_opposition_receipt_task

    enqueue_on_commit(render_opposition_receipt_task, opposition.pk)
    return opposition


@dataclass(frozen=True)
class AccountChoice:
    identifiant: str
    password_hash: str
    email: str
    phone: str


@transaction.atomic
def account_activate(*, code: ProvisionalCode, choice: AccountChoice, by: Actor) -> User:
    """Create the login, confirm the e-mail second factor, activate the space and its record."""
    from accounts.models import EmailOTPDevice

    patient = Patient.objects.select_for_update().get(pk=code.patient_id)
    space = HealthSpace.objects.select_for_update().get(pk=_space_for(patient).pk)
    _consume(code)
    user = User(
        username=choice.identifiant,
        kind=UserKind.PATIENT,
        email=choice.email,
        first_name=patient.first_name,
        last_name=patient.last_name,
        password=choice.password_hash,
    )
    user.full_clean()
    user.save()
    EmailOTPDevice.objects.create(user=user, name="e-mail", confirmed=True)
    patient.user = user
    patient.email = choice.email
    patient.phone = choice.phone
    patient.save(update_fields=["user", "email", "phone", "updated_at"])
    # Contacts an agent typed and nobody confirmed lapse: the person just chose their own.
    ContactChangeRequest.objects.filter(patient=patient, confirmed_at=None, cancelled_at=None).update(
        cancelled_at=timezone.now()
    )
    space_transition(space, to=SpaceStatus.ACTIVE, by=by, channel="online")
    medical_record_ensure(patient)
    return user


@transaction.atomic
def child_profile_activate(*, child: Patient, by: Actor) -> None:
    """A parent activates a child attached to their card, from their own account (no code needed)."""
    space = HealthSpace.objects.select_for_update().get(pk=_space_for(child).pk)
    space_transition(space, to=SpaceStatus.ACTIVE, by=by, channel="representative_account")
    ProvisionalCode.objects.filter(patient=child, used_at=None, voided_at=None).update(voided_at=timezone.now())
    medical_record_ensure(child)


# --- New codes -------------------------------------------------------------------------------------------


def code_issue(*, patient: Patient, channel: CodeChannel, chunk=None) -> tuple[ProvisionalCode, str]:
    """Void the person's unused codes and create a new one. Returns the row and the code in clear,
    which the caller puts in the message and forgets."""
    ProvisionalCode.objects.filter(patient=patient, used_at=None, voided_at=None).update(voided_at=timezone.now())
    compact = codes.generate()
    now = timezone.now()
    row = ProvisionalCode.objects.create(
        patient=patient,
        code_hash=codes.code_hash(compact),
        channel=channel,
        issued_at=now,
        expires_at=now + CODE_VALIDITY,
        chunk=chunk,
    )
    return row, compact


def code_message_context(*, patient: Patient, compact: str, expires_at) -> dict:
    return {
        "patient": patient,
        "holder": card_holder(patient),
        "code": codes.display(compact),
        "expires_on": timezone.localdate(expires_at),
    }


@transaction.atomic
def new_code_send(*, patient: Patient, by: Actor) -> str | None:
    """Send a new code to the card holder's e-mail, else phone, on file. Returns the channel used or None."""
    holder = card_holder(patient)
    if holder.email:
        channel = CodeChannel.EMAIL
    elif holder.phone:
        channel = CodeChannel.SMS
    else:
        return None
    row, compact = code_issue(patient=patient, channel=channel)
    context = code_message_context(patient=patient, compact=compact, expires_at=row.expires_at)
    if channel == CodeChannel.EMAIL:
        email_enqueue(
            to=holder.email,
            subject=render_to_string("emails/activation/new_code.subject.txt", context).strip(),
            body=render_to_string("emails/activation/new_code.txt", context),
        )
    else:
        sms_enqueue(to=holder.phone, body=render_to_string("emails/activation/new_code.sms.txt", context).strip())
    record(Action.CODE_ISSUED, actor=by, patient=patient, channel=channel)
    return channel


def new_code_request(*, nir: str, serial: str, birth_date: date, address: str, actor: Actor) -> None:
    """The public form: the same answer whatever happens; a code leaves only when everything matched.

    A child's code is requested with the card holder's NIR and serial and the child's date of birth.
    """
    # Every request counts, matched or not: this form sends messages.
    if admit_all((NEW_CODE_BY_ADDRESS, address), (NEW_CODE_BY_NIR, nir)):
        return
    holder = Patient.objects.filter(nir=nir).first()
    if holder is None or _serial_digits(holder.vitale_serial) != _serial_digits(serial) or not _serial_digits(serial):
        record(Action.CODE_CHECK_FAILED, actor=actor, form="new_code")
        return
    candidates = [holder, *holder.attached_children.all()]
    person = next((p for p in candidates if p.birth_date == birth_date and p.deceased_on is None), None)
    if person is None:
        record(Action.CODE_CHECK_FAILED, actor=actor, patient=holder, form="new_code")
        return
    # Issued by a task after commit, not here: issuing the code and writing its message took measurably
    # longer than a refusal, which told whether the details matched someone (tests/security/test_enumeration).
    from activation.tasks import send_requested_code_task

    enqueue_on_commit(send_requested_code_task, person.pk)


def requested_code_send(*, patient_id: int) -> str | None:
    """The new code asked for on the public form (by a task): not for an active or deleted space."""
    person = Patient.objects.select_related("space").filter(pk=patient_id, deceased_on__isnull=True).first()
    if person is None:
        return None
    space = getattr(person, "space", None)
    if space is not None and space.status in (SpaceStatus.ACTIVE, SpaceStatus.DELETED):
        return None
    return new_code_send(patient=person, by=Actor.anonymous())


__all__ = [
    "AccountChoice",
    "ConcurrentChange",
    "Identification",
    "InvalidTransition",
    "Outcome",
    "account_activate",
    "child_profile_activate",
    "code_identify",
    "code_issue",
    "new_code_request",
    "new_code_send",
    "opposition_record",
    "requested_code_send",
]
