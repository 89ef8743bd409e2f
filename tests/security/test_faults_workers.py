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
from espace_sante.access.actor import Actor
from espace_sante.crypto.storage import encrypted_storage
from espace_sante.outbox.enums import OutboxStatus
from espace_sante.outbox.models import OutboxMessage
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
