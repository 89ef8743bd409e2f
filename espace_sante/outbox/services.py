"""Queue messages with the transaction that causes them; deliver them at least once, dedupe by Message-ID."""

import contextlib
import logging
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.utils import timezone

from espace_sante.crypto.storage import encrypted_storage
from espace_sante.outbox.enums import Channel, OutboxStatus
from espace_sante.outbox.models import OutboxMessage

logger = logging.getLogger(__name__)
CLAIM_BATCH = 200
STUCK_AFTER = timedelta(minutes=15)
MAX_ATTEMPTS = 8


def email_enqueue(
    *,
    to: str,
    subject: str,
    body: str,
    dedupe_key: str | None = None,
    attachment_name: str = "",
    attachment_filename: str = "",
) -> OutboxMessage | None:
    """Queue an e-mail; delivery starts after commit. Returns None when `dedupe_key` was already queued."""
    return _enqueue(
        channel=Channel.EMAIL,
        recipient=to,
        subject=subject,
        body=body,
        dedupe_key=dedupe_key,
        attachment_name=attachment_name,
        attachment_filename=attachment_filename,
    )


def sms_enqueue(*, to: str, body: str, dedupe_key: str | None = None) -> OutboxMessage | None:
    return _enqueue(channel=Channel.SMS, recipient=to, subject="", body=body, dedupe_key=dedupe_key)


def _enqueue(**fields) -> OutboxMessage | None:
    from espace_sante.outbox.tasks import deliver_outbox_task

    key = fields.get("dedupe_key")
    if key and OutboxMessage.objects.filter(dedupe_key=key).exists():
        return None
    message = OutboxMessage.objects.create(**fields)
    schedule_delivery = deliver_outbox_task.delay
    transaction.on_commit(_safe(schedule_delivery))
    return message


def _safe(callable_):
    """Queueing the delivery is best effort: if the broker is down, the sweeper sends the row later."""

    def run() -> None:
        try:
            callable_()
        except Exception:  # noqa: BLE001 — the row is safe in the database; beat will deliver it
            logger.warning("outbox: could not queue delivery; the periodic sweep will send it")

    return run


def outbox_claim(limit: int = CLAIM_BATCH) -> list[int]:
    """Claim queued rows (SKIP LOCKED on PostgreSQL): QUEUED → SENDING. Returns their ids."""
    with transaction.atomic():
        queryset = OutboxMessage.objects.filter(status=OutboxStatus.QUEUED).order_by("created_at")
        if transaction.get_connection().features.has_select_for_update_skip_locked:
            queryset = queryset.select_for_update(skip_locked=True)
        ids = list(queryset.values_list("pk", flat=True)[:limit])
        OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.QUEUED).update(
            status=OutboxStatus.SENDING, claimed_at=timezone.now()
        )
    return ids


def outbox_deliver(ids: list[int]) -> int:
    """Send claimed rows; each is marked SENT (and its body wiped) right after its own send.

    A worker killed mid-batch re-sends at most the message it was sending (same Message-ID). The marks are
    committed without waiting for the WAL flush (`synchronous_commit = off`, this session only): a crash
    of PostgreSQL itself may forget the last few hundred milliseconds of marks, and those messages go out
    again with the same Message-ID, which the relay drops. Waiting for a flush per message cost 44 % of
    the delivery worker's time (bench/README.md, fix 4).
    """
    connection = get_connection()
    try:
        connection.open()  # one SMTP session per batch, not one per message
    except Exception as error:  # noqa: BLE001 — relay unreachable: the batch goes back to the queue
        from django.db.models import F

        OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.SENDING).update(
            status=OutboxStatus.QUEUED, attempts=F("attempts") + 1, last_error=type(error).__name__
        )
        return 0
    try:
        with _relaxed_commits():
            return _deliver_batch(connection, ids)
    finally:
        connection.close()


@contextlib.contextmanager
def _relaxed_commits():
    database = transaction.get_connection()
    if database.vendor != "postgresql" or database.in_atomic_block:
        yield
        return
    with database.cursor() as cursor:
        cursor.execute("SET synchronous_commit TO off")
    try:
        yield
    finally:
        with database.cursor() as cursor:
            cursor.execute("RESET synchronous_commit")


def _deliver_batch(connection, ids: list[int]) -> int:
    sent = 0
    for message in OutboxMessage.objects.filter(pk__in=ids, status=OutboxStatus.SENDING).order_by("pk"):
        try:
            if message.channel == Channel.EMAIL:
                _send_email(connection, message)
            else:
                _send_sms(message)
        except Exception as error:  # noqa: BLE001 — any failure leaves the row for a later attempt
            failed = message.attempts + 1 >= MAX_ATTEMPTS
            OutboxMessage.objects.filter(pk=message.pk).update(
                status=OutboxStatus.FAILED if failed else OutboxStatus.QUEUED,
                attempts=message.attempts + 1,
                last_error=type(error).__name__,
            )
            continue
        _mark_sent(message.pk)
        sent += 1
    return sent


_MARK_SENT = (
    f"UPDATE {OutboxMessage._meta.db_table} SET status = %s, sent_at = %s, body = NULL, attempts = attempts + 1 "  # noqa: S608
    "WHERE id = %s AND status = %s"
)


def _mark_sent(pk: int) -> None:
    """SENT, body wiped, right after the send: the ORM's compilation of this UPDATE cost more than the send's
    database round trip (py-spy, bench/README.md)."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(_MARK_SENT, [OutboxStatus.SENT.value, timezone.now(), pk, OutboxStatus.SENDING.value])


def outbox_requeue_stuck() -> int:
    """Rows left in SENDING by a dead worker go back to QUEUED (their Message-ID stays the same)."""
    return OutboxMessage.objects.filter(
        status=OutboxStatus.SENDING, claimed_at__lt=timezone.now() - STUCK_AFTER
    ).update(status=OutboxStatus.QUEUED)


def outbox_flush() -> int:
    """Deliver everything queued now (used by the periodic sweep and by operators)."""
    total = 0
    outbox_requeue_stuck()
    while ids := outbox_claim():
        total += outbox_deliver(ids)
    return total


def _send_email(connection, message: OutboxMessage) -> None:
    email = EmailMessage(
        subject=message.subject,
        body=message.body or "",
        to=[message.recipient],
        connection=connection,
        headers={"Message-ID": message.message_id},
    )
    if message.attachment_name:
        with encrypted_storage().open(message.attachment_name) as handle:
            email.attach(message.attachment_filename or "document.pdf", handle.read(), "application/pdf")
    email.send()


def _send_sms(message: OutboxMessage) -> None:
    """No SMS gateway here: the SMS outbox is a log (and, in development, files under var/sms/)."""
    logger.info("sms sent", extra={"outbox": str(message.public_id)})
    folder = getattr(settings, "SMS_FILE_PATH", None)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{message.public_id}.txt").write_text(f"À : {message.recipient}\n\n{message.body}\n")
