"""Faults in workers and in the database: a Celery worker killed mid-task, a request whose connection dies.

Worker tests run real Celery workers (tests/workers.py) on the test database and a private Redis queue. Each
worker is paused where the test can see it, by a lock the test holds (a table lock, or an advisory lock taken
by a trigger created in the test database for the test), never by a hook in the product, then killed with
SIGKILL: its PostgreSQL transaction is rolled back by the server, its Redis message stays unacknowledged
(redelivered only after the visibility timeout, an hour), and the periodic sweeps the beat schedule runs are
what finish the work. The workers write e-mails to files (one file per SMTP session), so the test counts what
a relay would have received.

Database tests end the backend of the connection a request is using, from another connection: what clients
see when PostgreSQL restarts, without restarting the shared server.
"""

import contextlib
import email
import re
import uuid
from datetime import timedelta
from pathlib import Path
from urllib.error import HTTPError
from urllib.request import HTTPRedirectHandler, Request, build_opener
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test.client import encode_multipart
from django.urls import reverse
from django.utils import timezone

from activation.enums import OppositionChannel
from activation.models import Opposition, ProvisionalCode
from activation.services.enrolment import opposition_record
from activation.services.receipts import receipt_bytes
from activation.tasks import render_opposition_receipt_task, sweep_missing_receipts_task
from agenda.services import reminders_send
from dossier import services as dossier_services
from dossier.enums import DocumentCategory
from dossier.models import Document
from espace_sante.access.actor import Actor
from espace_sante.crypto.storage import encrypted_storage
from espace_sante.outbox.enums import Channel, OutboxStatus
from espace_sante.outbox.models import OutboxMessage
from espace_sante.outbox.services import STUCK_AFTER
from espace_sante.outbox.tasks import deliver_outbox_task
from messagerie import services as messagerie_services
from messagerie.models import Attachment, Message
from tests.agenda.helpers import appointment, paris
from tests.messagerie.factories import PDF, start
from tests.workers import backend_gone, blocked_on_lock, connect, private_broker, running_workers, scalar, wait_for

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


# --- 3. PostgreSQL "restarts" in the middle of a request ----------------------------------------------------

BOUNDARY = "----faults-test-boundary"


def _terminate_own_backend() -> None:
    """What a PostgreSQL restart does to the connections it had: end this thread's backend, from another one."""
    pid = scalar("SELECT pg_backend_pid()")
    with contextlib.closing(connect()) as other:
        assert other.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,)).fetchone()[0]


class Browser:
    """Requests over a real socket to the live server, keeping the cookies it sets (no redirect followed)."""

    def __init__(self, base_url: str, cookies: dict[str, str]) -> None:
        self.base_url = base_url
        self.cookies = dict(cookies)
        self.opener = build_opener(_NoRedirect())

    def request(self, path: str, data: dict | None = None) -> tuple[int, str]:
        headers = {"Cookie": "; ".join(f"{name}={value}" for name, value in self.cookies.items())}
        body = None
        if data is not None:
            body = encode_multipart(BOUNDARY, data)
            headers["Content-Type"] = f"multipart/form-data; boundary={BOUNDARY}"
        request = Request(self.base_url + path, data=body, headers=headers)  # noqa: S310 — the live server
        try:
            with self.opener.open(request, timeout=30) as response:
                status, page, sent = response.status, response.read().decode(), response.headers
        except HTTPError as error:
            status, page, sent = error.code, error.read().decode(), error.headers
        for cookie in sent.get_all("Set-Cookie") or []:
            name, _, value = cookie.split(";", 1)[0].partition("=")
            self.cookies[name] = value
        return status, page

    def csrf_token(self, path: str) -> str:
        status, page = self.request(path)
        assert status == 200, page[:500]
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]


class _NoRedirect(HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a 302 is an answer to check, not to follow


def _files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


@pytest.mark.django_db(transaction=True)
def test_a_database_restart_mid_message_saves_nothing_shows_the_error_page_and_the_next_request_works(
    live_server, personas, session_as, client, monkeypatch
):
    conversation = start(personas.dr_martin, personas.camille)
    session_as(client, "camille")
    browser = Browser(live_server.url, {name: morsel.value for name, morsel in client.cookies.items()})
    page = reverse("messagerie:conversation", kwargs={"public_id": conversation.public_id})
    attachments = Path(encrypted_storage().path("messagerie"))
    before = (Message.objects.count(), Attachment.objects.count(), OutboxMessage.objects.count())
    files_before = _files_under(attachments)

    # The message and its attachment are written (file, then INSERTs); the connection dies before the audit
    # trace, the last write of the transaction.
    original = messagerie_services.record
    restarts = []

    def record_after_a_restart(*args, **kwargs):
        if not restarts:
            restarts.append(scalar("SELECT pg_backend_pid()"))
            assert Message.objects.count() == before[0] + 1  # inserted, not yet committed
            assert _files_under(attachments) - files_before  # the encrypted file is written
            _terminate_own_backend()
        return original(*args, **kwargs)

    monkeypatch.setattr(messagerie_services, "record", record_after_a_restart)
    form = {
        "body": "Mes résultats de prise de sang.",
        "client_token": str(uuid.uuid4()),
        "files": SimpleUploadedFile("prise-de-sang.pdf", PDF, content_type="application/pdf"),
    }
    status, body = browser.request(page, {**form, "csrfmiddlewaretoken": browser.csrf_token(page)})

    assert restarts, "the request did not reach the write"
    assert status == 500
    assert "Service momentanément indisponible" in body and "n’a pas été enregistrée" in body
    # Nothing half-written: no message, no attachment row, no notification, no encrypted file left behind.
    assert (Message.objects.count(), Attachment.objects.count(), OutboxMessage.objects.count()) == before
    assert _files_under(attachments) == files_before

    # The next requests work: the page, and the same message sent again (a new token: the first never was).
    status, body = browser.request(page)
    assert status == 200 and "Mes résultats de prise de sang." not in body
    form["client_token"] = str(uuid.uuid4())
    form["files"].seek(0)
    status, _ = browser.request(page, {**form, "csrfmiddlewaretoken": browser.csrf_token(page)})
    assert status == 302
    message = Message.objects.latest("pk")
    assert Message.objects.count() == before[0] + 1 and message.body == "Mes résultats de prise de sang."
    assert message.attachments.count() == 1 and len(_files_under(attachments) - files_before) == 1


@pytest.mark.django_db(transaction=True)
def test_a_persistent_connection_ended_by_a_restart_is_replaced_on_the_next_request(personas, session_as, client):
    """As in a gunicorn worker: requests through the WSGI handler on this thread, which keeps its connection
    between requests (CONN_MAX_AGE). PostgreSQL restarts while it is idle; the next request must not fail."""
    assert connection.settings_dict["CONN_MAX_AGE"] > 0 and connection.settings_dict["CONN_HEALTH_CHECKS"]
    session_as(client, "camille")
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    handler = WSGIHandler()

    def get(path: str) -> int:
        environ = {"PATH_INFO": path, "HTTP_HOST": "testserver", "SERVER_NAME": "testserver", "HTTP_COOKIE": cookies}
        setup_testing_defaults(environ)
        statuses = []
        response = handler(environ, lambda status, headers, exc_info=None: statuses.append(status))
        try:
            b"".join(response)
        finally:
            response.close()  # request_finished, as a WSGI server sends it: old connections are checked
        return int(statuses[0][:3])

    assert get(reverse("messagerie:index")) == 200
    before = connection.connection.info.backend_pid  # kept open for the next request
    with contextlib.closing(connect()) as other:
        assert other.execute("SELECT pg_terminate_backend(%s, 5000)", (before,)).fetchone()[0]

    assert get(reverse("messagerie:index")) == 200
    assert connection.connection.info.backend_pid != before


@pytest.mark.django_db(transaction=True)
def test_a_database_restart_mid_upload_leaves_no_document_and_no_file(
    live_server, personas, session_as, client, monkeypatch
):
    session_as(client, "camille")
    browser = Browser(live_server.url, {name: morsel.value for name, morsel in client.cookies.items()})
    upload = reverse("dossier:upload")
    documents = Path(encrypted_storage().path("documents"))
    before, files_before = Document.objects.count(), _files_under(documents)
    original = dossier_services.record
    restarts = []

    def record_after_a_restart(*args, **kwargs):
        if not restarts:
            restarts.append(True)
            _terminate_own_backend()  # the Document row is inserted, its file written
        return original(*args, **kwargs)

    monkeypatch.setattr(dossier_services, "record", record_after_a_restart)
    form = {
        "file": SimpleUploadedFile("ordonnance.pdf", PDF, content_type="application/pdf"),
        "title": "Ordonnance du Dr Martin",
        "category": DocumentCategory.ORDONNANCES,
        "care_date": "2026-03-02",
    }
    status, body = browser.request(upload, {**form, "csrfmiddlewaretoken": browser.csrf_token(upload)})

    assert restarts and status == 500 and "Service momentanément indisponible" in body
    assert Document.objects.count() == before
    assert _files_under(documents) == files_before
