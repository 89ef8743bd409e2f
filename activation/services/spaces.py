"""The state machine of a space and the writes that move it (R.1111-28, R.1111-36)."""

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from accounts.models import Patient
from activation.enums import SpaceStatus
from activation.models import ARCHIVE_RETENTION, INFORMATION_DELAY, Closure, HealthSpace, ProvisionalCode
from agenda.services import feed_revoke_for_space_end
from catalogue.services import connections_end_for_space_end
from dossier.models import MedicalRecord
from dossier.services import share_links_revoke_all
from espace_sante.access.actor import Actor
from espace_sante.audit.actions import Action
from espace_sante.audit.log import record
from espace_sante.lib.tasks import enqueue_on_commit

ALLOWED = {
    SpaceStatus.INFORMED: {SpaceStatus.OPEN, SpaceStatus.ACTIVE, SpaceStatus.OPPOSED},
    SpaceStatus.OPEN: {SpaceStatus.ACTIVE, SpaceStatus.CLOSED},
    SpaceStatus.OPPOSED: {SpaceStatus.ACTIVE},  # changing one's mind later is allowed
    SpaceStatus.ACTIVE: {SpaceStatus.CLOSED},  # an active space is closed, not opposed
    SpaceStatus.CLOSED: {SpaceStatus.ACTIVE, SpaceStatus.DELETED},
    SpaceStatus.DELETED: set(),
}
TIMESTAMP_OF = {
    SpaceStatus.OPEN: "opened_at",
    SpaceStatus.ACTIVE: "activated_at",
    SpaceStatus.OPPOSED: "opposed_at",
    SpaceStatus.CLOSED: "closed_at",
    SpaceStatus.DELETED: "deleted_at",
}


class InvalidTransition(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"{current} → {target}")
        self.current, self.target = current, target


class ConcurrentChange(Exception):
    """Someone else moved the space first (double submit, two agents at once)."""


def new_reference(prefix: str) -> str:
    """A receipt reference a person can read over the phone: MES-O-7K3M9Q2X."""
    from activation.codes import ALPHABET

    return f"MES-{prefix}-" + "".join(secrets.choice(ALPHABET) for _ in range(8))


def space_transition(space: HealthSpace, *, to: SpaceStatus, by: Actor | None, **data) -> None:
    """Compare-and-set the status; audit the change. Raises InvalidTransition or ConcurrentChange."""
    if to not in ALLOWED[SpaceStatus(space.status)]:
        raise InvalidTransition(space.status, to)
    now = timezone.now()
    changes = {"status": to, TIMESTAMP_OF[to]: now, "updated_at": now}
    if to == SpaceStatus.ACTIVE:
        changes["deletion_requested_at"] = None  # reactivating cancels a pending deletion
    updated = HealthSpace.objects.filter(pk=space.pk, status=space.status).update(**changes)
    if updated != 1:
        raise ConcurrentChange
    record(
        Action.SPACE_STATUS_CHANGED,
        actor=by,
        patient=space.patient,
        target=space,
        target_label="Mon espace santé",
        before=space.status,
        after=to,
        **data,
    )
    for name, value in changes.items():
        setattr(space, name, value)


def medical_record_ensure(patient: Patient) -> MedicalRecord:
    record_, _ = MedicalRecord.objects.get_or_create(patient=patient)
    return record_


@transaction.atomic
def spaces_open_unopposed(*, now: datetime | None = None, by: Actor | None = None) -> int:
    """Open the spaces informed six weeks ago or more without opposition; create their records. Idempotent.

    The boundary: informed at T, the space opens at T + 6 weeks exactly, not a second before.
    """
    cutoff = (now or timezone.now()) - INFORMATION_DELAY
    opened = 0
    due = HealthSpace.objects.select_related("patient").filter(status=SpaceStatus.INFORMED, informed_at__lte=cutoff)
    for space in due.iterator(chunk_size=2000):
        try:
            space_transition(space, to=SpaceStatus.OPEN, by=by, reason="six_weeks_without_opposition")
        except ConcurrentChange:
            continue  # opposed or activated meanwhile
        medical_record_ensure(space.patient)
        opened += 1
    return opened


def capabilities_revoke(space: HealthSpace, *, by: Actor | None, reason: str) -> None:
    """Revoke every capability URL of the space: the secrets that open data without a session (share links and
    their QR codes, the private agenda feed, connected services' OAuth tokens). Called by every path that ends
    a space (closure by the holder or an agent, death, deletion), each app through its own service. The serving
    paths also check that the space is active (espace_sante.access.policy), so a row missed here serves nothing."""
    patient = space.patient
    share_links_revoke_all(patient=patient, by=by, reason=reason)
    feed_revoke_for_space_end(patient=patient, by=by, reason=reason)
    connections_end_for_space_end(patient=patient, by=by)


@transaction.atomic
def space_close(*, space: HealthSpace, by: Actor, deletion_requested: bool, reason: str = "holder_request") -> Closure:
    """Close (archive for ten years), optionally with a deletion request; void any pending code."""
    space_transition(space, to=SpaceStatus.CLOSED, by=by, deletion_requested=deletion_requested, reason=reason)
    if deletion_requested:
        HealthSpace.objects.filter(pk=space.pk).update(deletion_requested_at=space.closed_at)
        space.deletion_requested_at = space.closed_at
    ProvisionalCode.objects.filter(patient=space.patient, used_at=None, voided_at=None).update(
        voided_at=timezone.now()
    )
    capabilities_revoke(space, by=by, reason=reason)
    closure = Closure.objects.create(
        space=space,
        reference=new_reference("C"),
        deletion_requested=deletion_requested,
        reason=reason,
        recorded_by=by.user if by is not None else None,
    )
    from activation.tasks import render_closure_receipt_task

    enqueue_on_commit(render_closure_receipt_task, closure.pk)
    return closure


@transaction.atomic
def space_reopen(*, space: HealthSpace, by: Actor) -> None:
    """Reopen a closed space: the archive comes back as it was (R.1111-36); a pending deletion is cancelled."""
    space_transition(space, to=SpaceStatus.ACTIVE, by=by, reason="reopened")
    medical_record_ensure(space.patient)


def _purge_space(space: HealthSpace, *, by: Actor | None, reason: str) -> None:
    """Delete the medical content of a closed space; the administrative trace and the audit log remain."""
    capabilities_revoke(space, by=by, reason=reason)  # already done at closure; kept for spaces closed before
    MedicalRecord.objects.filter(patient=space.patient).delete()
    space_transition(space, to=SpaceStatus.DELETED, by=by, reason=reason)
    user = space.patient.user
    if user is not None and space.patient.pk == getattr(getattr(user, "patient_profile", None), "pk", None):
        user.is_active = False
        user.save(update_fields=["is_active"])


def deletions_process(*, now: datetime | None = None) -> int:
    """Carry out every pending deletion request (the law allows three months; we do them at the next run)."""
    done = 0
    pending = HealthSpace.objects.select_related("patient__user").filter(
        status=SpaceStatus.CLOSED, deletion_requested_at__isnull=False
    )
    for space in pending.iterator(chunk_size=500):
        with transaction.atomic():
            try:
                _purge_space(space, by=None, reason="deletion_request")
            except ConcurrentChange:
                continue  # reopened meanwhile
        done += 1
    return done


def archives_purge(*, now: datetime | None = None) -> int:
    """Delete the archives of spaces closed ten years ago or more (R.1111-36)."""
    cutoff = (now or timezone.now()) - ARCHIVE_RETENTION
    done = 0
    expired = HealthSpace.objects.select_related("patient__user").filter(
        status=SpaceStatus.CLOSED, closed_at__lte=cutoff
    )
    for space in expired.iterator(chunk_size=500):
        with transaction.atomic():
            try:
                _purge_space(space, by=None, reason="ten_year_retention")
            except ConcurrentChange:
                continue
        done += 1
    return done
