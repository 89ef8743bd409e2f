"""Faults in workers and in the database: a Celery worker killed mid-task, a request whose connection dies.

Worker tests run real Celery workers (tests/workers.py) on the test database and a private Redis queue. Each
worker is paused where the test can see it, by a lock the test holds, never by a hook in the product, then
killed with SIGKILL: its PostgreSQL transaction is rolled back by the server, its Redis message stays
unacknowledged (redelivered only after the visibility timeout, an hour), and the periodic sweeps the beat
schedule runs are what finish the work. The workers write e-mails to files (one file per SMTP session), so
the test counts what a relay would have received.
"""

import contextlib
import email
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from activation.enums import OppositionChannel
from activation.models import Opposition, ProvisionalCode
from activation.services.enrolment import opposition_record
from activation.services.receipts import receipt_bytes
from activation.tasks import render_opposition_receipt_task, sweep_missing_receipts_task
from agenda.services import reminders_send
from espace_sante.access.actor import Actor
from espace_sante.crypto.storage import encrypted_storage
from espace_sante.outbox.enums import Channel, OutboxStatus
from espace_sante.outbox.models import OutboxMessage
from espace_sante.outbox.services import STUCK_AFTER
from espace_sante.outbox.tasks import deliver_outbox_task
from tests.agenda.helpers import appointment, paris
from tests.workers import backend_gone, blocked_on_lock, connect, private_broker, running_workers, wait_for

SEPARATOR = b"\n" + b"-" * 79 + b"\n"  # between two messages in a filebased EmailBackend file


@pytest.fixture
def broker(settings):
    with private_broker(settings, name="faults-test") as private:
        yield private


def _emails(folder: Path) -> list[email.message.Message]:
    """Every e-mail the workers handed to the (file) relay, in the order of their sessions."""
    found = []
    for path in sorted(folder.glob("*.log")):
        found += [email.message_from_bytes(part) for part in path.read_bytes().split(SEPARATOR) if part.strip()]
    return found


def _task_succeeded(workers, task_id: str) -> bool:
    return f"[{task_id}] succeeded" in workers.tail()


# --- 1. A worker killed while it writes an opposition receipt ------------------------------------------------


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_receipt_leaves_one_receipt_and_one_email_per_opposition(tmp_path, broker, informed):
    oppositions = []
    for order in range(1, 4):
        patient, _ = informed(email=f"opposant{order}@example.org", order=order)
        code = ProvisionalCode.objects.get(patient=patient)
        oppositions.append(
            opposition_record(patient=patient, channel=OppositionChannel.ONLINE, by=Actor.anonymous(), code=code)
        )  # each queues its receipt task on commit, on the private queue
    first = oppositions[0]
    receipts = Path(encrypted_storage().path("recus"))
    mail = tmp_path / "mail"

    with running_workers(broker, tmp_path, email_dir=mail) as workers, contextlib.closing(connect()) as lock:
        # The receipt's e-mail is an outbox row: hold a lock its INSERT must wait for, after the PDF is stored.
        lock.execute("LOCK TABLE outbox_outboxmessage IN SHARE MODE")
        workers.start("first")
        blocked = wait_for(
            lambda: blocked_on_lock(workers, "first", relation="outbox_outboxmessage"),
            what="the first worker to queue the first receipt's e-mail",
            timeout=90,
            workers=workers,
            alive=("first",),
        )
        assert [path.name for path in receipts.iterdir()] == [f"opposition-{first.public_id}.pdf"]

        workers.kill("first")
        lock.rollback()
        wait_for(lambda: backend_gone(blocked), what="the rollback of the dead worker", timeout=30, workers=workers)
        # The file is on disk but nothing refers to it: the receipt is still "missing" for the sweeper.
        assert list(Opposition.objects.filter(receipt_name="").order_by("pk")) == oppositions
        assert not OutboxMessage.objects.exists()

        workers.start("second")
        wait_for(
            lambda: Opposition.objects.filter(receipt_name="").count() == 1,
            what="the second worker to render the receipts still queued",
            timeout=120,
            workers=workers,
            alive=("second",),
        )
        # The killed task's message stays unacknowledged for an hour: the beat sweep re-queues the receipt
        # (it considers receipts missing for two minutes).
        assert Opposition.objects.get(receipt_name="") == first
        Opposition.objects.filter(pk=first.pk).update(recorded_at=timezone.now() - timedelta(minutes=3))
        assert sweep_missing_receipts_task() == 1

        def delivered() -> bool:
            return (
                not Opposition.objects.filter(receipt_name="").exists()
                and OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == len(oppositions)
                and len(_emails(mail)) >= len(oppositions)
            )

        wait_for(delivered, what="every receipt and its e-mail", timeout=120, workers=workers, alive=("second",))

        # An hour later Redis hands the killed task to a worker again: it finds the work done.
        again = render_opposition_receipt_task.delay(first.pk)
        wait_for(
            lambda: _task_succeeded(workers, again.id),
            what="the redelivered task",
            timeout=60,
            workers=workers,
            alive=("second",),
        )

    # One receipt file per opposition, under its own name (no second copy under another name), readable.
    for opposition in oppositions:
        opposition.refresh_from_db()
        assert opposition.receipt_name == f"recus/opposition-{opposition.public_id}.pdf"
        assert receipt_bytes(opposition.receipt_name).startswith(b"%PDF-")
    assert sorted(path.name for path in receipts.iterdir()) == sorted(
        f"opposition-{opposition.public_id}.pdf" for opposition in oppositions
    )

    # One outbox row per opposition (the dedupe key), sent once, with the stored receipt attached.
    rows = OutboxMessage.objects.order_by("pk")
    assert sorted(rows.values_list("dedupe_key", flat=True)) == sorted(
        f"opposition-receipt:{opposition.public_id}" for opposition in oppositions
    )
    assert {(row.status, row.attempts) for row in rows} == {(OutboxStatus.SENT, 1)}
    assert {row.attachment_name for row in rows} == {opposition.receipt_name for opposition in oppositions}

    # And the relay received each e-mail once, to its card holder.
    sent = _emails(mail)
    assert sorted(message["Message-ID"] for message in sent) == sorted(row.message_id for row in rows)
    assert sorted(message["To"] for message in sent) == [f"opposant{order}@example.org" for order in range(1, 4)]


# --- 2. A worker killed in the middle of an outbox delivery batch ---------------------------------------------

PAUSE_LOCK = 4207  # advisory lock class (first key) the pause trigger takes; the second key is the row id

PAUSE_BEFORE_MARKING_SENT = """
CREATE FUNCTION test_pause_outbox_sent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'sent' AND OLD.status = 'sending' THEN
        PERFORM pg_advisory_xact_lock(4207, OLD.id::int);  -- waits while the test holds this row's lock
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER test_pause_outbox_sent BEFORE UPDATE ON outbox_outboxmessage
    FOR EACH ROW EXECUTE FUNCTION test_pause_outbox_sent();
"""


@contextlib.contextmanager
def _pause_before_marking_sent():
    """Test-only trigger in the test database: the UPDATE that marks a row SENT first takes an advisory lock
    keyed by the row id, so the test can stop a worker right after it handed one chosen message to the relay
    and before the row says so. Dropped afterwards (a transactional test's flush keeps triggers)."""
    with contextlib.closing(connect()) as admin:
        admin.execute(PAUSE_BEFORE_MARKING_SENT)
        admin.commit()
        try:
            yield
        finally:
            admin.rollback()
            admin.execute("DROP TRIGGER IF EXISTS test_pause_outbox_sent ON outbox_outboxmessage")
            admin.execute("DROP FUNCTION IF EXISTS test_pause_outbox_sent()")
            admin.commit()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_no_message_and_resends_only_the_one_in_flight(personas, tmp_path, broker):
    # Agenda reminders, queued by the product as outbox rows (delivery tasks go to the private queue).
    day = timezone.localdate() + timedelta(days=10)
    for hour in range(8, 18):
        appointment(personas.camille, f"{day.isoformat()} {hour:02d}:30")
    evening_before = paris(f"{(day - timedelta(days=1)).isoformat()} 18:05")
    assert reminders_send(now=evening_before) == 10
    queued = OutboxMessage.objects.filter(status=OutboxStatus.QUEUED)
    emails = list(queued.filter(channel=Channel.EMAIL).order_by("pk"))
    assert len(emails) == 10
    everything = set(queued.values_list("pk", flat=True))  # e-mails, and SMS where a phone is on file
    in_flight = emails[4]  # the worker is killed after sending the fifth e-mail, before marking it sent
    mail = tmp_path / "mail"

    with (
        _pause_before_marking_sent(),
        running_workers(broker, tmp_path, email_dir=mail) as workers,
        contextlib.closing(connect()) as lock,
    ):
        lock.execute("SELECT pg_advisory_lock(%s, %s)", (PAUSE_LOCK, in_flight.pk))
        workers.start("first")
        blocked = wait_for(
            lambda: blocked_on_lock(workers, "first"),
            what="the first worker to mark the fifth e-mail sent",
            timeout=90,
            workers=workers,
            alive=("first",),
        )
        before_kill = {message["Message-ID"] for message in _emails(mail)}
        assert in_flight.message_id in before_kill  # handed to the relay…
        assert OutboxMessage.objects.get(pk=in_flight.pk).status == OutboxStatus.SENDING  # …not marked

        workers.kill("first")
        wait_for(
            lambda: backend_gone(blocked), what="the end of the dead worker's backend", timeout=30, workers=workers
        )
        lock.execute("SELECT pg_advisory_unlock(%s, %s)", (PAUSE_LOCK, in_flight.pk))
        sent_before = set(
            OutboxMessage.objects.filter(pk__in=everything, status=OutboxStatus.SENT).values_list("pk", flat=True)
        )
        assert {e.pk for e in emails[:4]} <= sent_before and in_flight.pk not in sent_before
        assert not OutboxMessage.objects.filter(pk__in=everything, status=OutboxStatus.QUEUED).exists()

        # The rest of the batch is stuck in SENDING; a restarted worker runs the queued delivery tasks and the
        # beat's sweep, which puts rows back in the queue once they have been stuck for STUCK_AFTER.
        workers.start("second")
        OutboxMessage.objects.filter(status=OutboxStatus.SENDING).update(
            claimed_at=timezone.now() - STUCK_AFTER - timedelta(minutes=1)
        )
        deliver_outbox_task.delay()
        wait_for(
            lambda: not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists(),
            what="every message to be sent",
            timeout=120,
            workers=workers,
            alive=("second",),
        )

    rows = {row.pk: row for row in OutboxMessage.objects.filter(pk__in=everything)}
    assert all(row.sent_at and row.body is None for row in rows.values())
    delivered = [message["Message-ID"] for message in _emails(mail)]
    # Nothing lost: every e-mail reached the relay.
    assert set(delivered) == {row.message_id for row in rows.values() if row.channel == Channel.EMAIL}
    # Sent twice: only the message in flight when the worker died, under the same Message-ID (relays drop the
    # second copy); the messages marked sent before the kill, and those after it, went out once.
    assert sorted(m for m in set(delivered) if delivered.count(m) > 1) == [in_flight.message_id]
    assert delivered.count(in_flight.message_id) == 2
    assert len(delivered) == len(emails) + 1
