"""The campaign on a real Celery worker and Redis: a worker killed mid-chunk loses nothing, sends nothing twice.

The worker is a separate process (`celery -A espace_sante worker --pool=solo`) on the database pytest-django
created, so SIGKILL really drops its PostgreSQL connection and its unacknowledged message. It is killed while
its chunk waits for a table lock the test holds: after its COPYs and its `.partial` print file, before its
commit; the code under test has no hook for this. Isolation: Redis database 15, a key prefix (kombu's
`global_keyprefix`) and a queue unique to the test, deleted afterwards; print files in the run's own folder.
"""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from unittest import mock
from urllib.parse import quote, urlsplit

import psycopg
import pytest
import redis
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from kombu import pools

from accounts.models import Patient
from activation import codes
from activation.enums import ChunkStatus, CodeChannel, RunStatus
from activation.models import CampaignChunk, CampaignRun, HealthSpace, InformationMessage, ProvisionalCode
from activation.services.campaign import PRINT_COLUMNS, campaign_chunk_process, campaign_resume, print_dir
from activation.tasks import process_campaign_chunk_task
from espace_sante.outbox.enums import OutboxStatus
from espace_sante.outbox.models import OutboxMessage
from espace_sante.settings import test as worker_settings
from tests.activation.factories import family, nir_for, registry_row, write_registry

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

BROKER_DB = 15
WORKER_SETTINGS = "espace_sante.settings.test"
CHUNK_SIZE = 20


@dataclass
class Broker:
    url: str
    queue: str
    options: dict  # broker transport options, global_keyprefix included

    @property
    def prefix(self) -> str:
        return self.options["global_keyprefix"]


def _forget_broker_connections(app) -> None:
    """Celery caches its routes (default queue) and connection pools; rebuild them from app.conf."""
    app._pool = None
    app.__dict__.pop("amqp", None)
    pools.reset()


@pytest.fixture
def broker(settings):
    """Tasks sent for real (no eager mode) to a private queue under a private key prefix in Redis DB 15."""
    from espace_sante.celery import app

    token = f"campaign-test-{uuid.uuid4().hex[:12]}"
    url = urlsplit(settings.CELERY_BROKER_URL)._replace(path=f"/{BROKER_DB}").geturl()
    private = Broker(
        url=url, queue=token, options={**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": f"{token}:"}
    )
    names = ("broker_url", "broker_transport_options", "task_default_queue", "task_always_eager")
    saved = {name: app.conf[name] for name in names}
    app.conf.update(
        broker_url=private.url,
        broker_transport_options=private.options,
        task_default_queue=private.queue,
        task_always_eager=False,
    )
    _forget_broker_connections(app)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield private
    finally:
        app.conf.update(saved)
        _forget_broker_connections(app)
        client = redis.Redis.from_url(private.url)
        for key in client.scan_iter(match=f"{private.prefix}*"):
            client.delete(key)
        client.close()


@dataclass
class Workers:
    """Worker processes on the test database and the private broker; logs kept to explain a failure."""

    broker: Broker
    logs: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def application_name(self, name: str) -> str:
        return f"{self.broker.queue}-{name}"  # PostgreSQL's pg_stat_activity.application_name (PGAPPNAME)

    def start(self, name: str) -> subprocess.Popen:
        database = connection.settings_dict
        credentials = quote(database["USER"]) + (f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else "")
        host, port = database["HOST"] or "127.0.0.1", database["PORT"] or "5432"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS,
            "DATABASE_URL": f"postgres://{credentials}@{host}:{port}/{database['NAME']}",
            "CELERY_BROKER_URL": self.broker.url,
            "PGAPPNAME": self.application_name(name),
            # The keys of this test process (set_default_keys or the environment), not a worker's default.
            **{key: os.environ[key] for key in ("SECRET_KEY", "DATA_ENCRYPTION_KEYS", "CODE_HASH_KEY")},
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "espace_sante",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            self.broker.queue,
            "-n",
            f"{self.application_name(name)}@%h",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "--loglevel=INFO",
            # Celery settings from the command line: the test settings make tasks eager, not here.
            "task_always_eager=false",
            f"task_default_queue={self.broker.queue}",
            f"broker_transport_options=(json){json.dumps(self.broker.options)}",
        ]
        with open(self.logs / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        running = [process for process in self.processes.values() if process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)  # warm shutdown; the group is the worker we started
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def check_alive(self, *names: str) -> None:
        for name in names:
            if self.processes[name].poll() is not None:
                pytest.fail(f"worker {name} exited with {self.processes[name].returncode}\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}" for path in sorted(self.logs.glob("*.log"))
        )


def _wait_for(condition, *, what: str, timeout: float, workers: Workers, alive: tuple[str, ...] = ()):
    """Poll `condition` until it returns something truthy; fail with the workers' logs after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers.check_alive(*alive)
        if result := condition():
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{workers.tail()}")


def _connect() -> psycopg.Connection:
    """A connection of its own to the test database: another transaction, as another worker would hold."""
    database = connection.settings_dict
    return psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
    )


def _scalar(sql: str, params: tuple = ()):
    """The first column of the first row, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def _import(path: Path, rows: list[dict]) -> None:
    out = StringIO()
    call_command("import_assures", str(write_registry(path, rows)), stdout=out)
    assert f"{len(rows)} valid" in out.getvalue() and " 0 rejected" in out.getvalue(), out.getvalue()


def _population(tmp_path: Path, *, families: int, adults_per_family: int) -> tuple[set[str], set[str]]:
    """Adults with and without e-mail, and families (a child on the parent's card); NIRs by e-mail / letter."""
    rows, email, letter = [], set(), set()
    for k in range(families):
        adults = [registry_row(i, email="" if i % 2 else None) for i in range(k * 100, k * 100 + adults_per_family)]
        parent, child = family(50_000 + 2 * k)
        born = child["date_naissance"]
        child["nir"] = nir_for(sex=2, year=int(born[:4]), month=int(born[5:7]), commune="777", order=k)
        parent["email"] = f"parent{k}@example.org" if k % 2 == 0 else ""
        rows += [*adults, parent, child]
        for person in adults:
            (email if person["email"] else letter).add(person["nir"])
        (email if parent["email"] else letter).update({parent["nir"], child["nir"]})
    _import(tmp_path / "assures.csv", rows)
    return email, letter


def _letter_codes(folder: Path) -> list[str]:
    codes_ = []
    for path in sorted(folder.glob("lot-*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle, delimiter=";")
            assert reader.fieldnames == PRINT_COLUMNS
            codes_ += [row["code_provisoire"] for row in reader]
    return codes_


def test_a_worker_killed_mid_chunk_loses_nobody_and_informs_nobody_twice(tmp_path, settings, broker):
    email, letter = _population(tmp_path, families=30, adults_per_family=8)  # 300 people, 150 by e-mail
    settings.MEDIA_ROOT = worker_settings.MEDIA_ROOT  # where the workers write the print files
    workers = Workers(broker=broker, logs=tmp_path)
    run = None
    lock = _connect()
    try:
        out = StringIO()
        call_command("lancer_campagne", "--taille-lot", str(CHUNK_SIZE), "--sans-attendre", stdout=out)
        run = CampaignRun.objects.get()
        chunks = run.chunks.count()
        assert (run.people, chunks) == (300, 300 // CHUNK_SIZE), out.getvalue()
        folder = print_dir(run)

        # Hold a lock that a chunk's last statement (UPDATE of its own row) must wait for.
        lock.execute("LOCK TABLE activation_campaignchunk IN SHARE MODE")
        workers.start("first")
        blocked = _wait_for(
            lambda: _scalar(
                "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE a.application_name = %s AND NOT l.granted "
                "AND l.relation = 'activation_campaignchunk'::regclass",
                (workers.application_name("first"),),
            ),
            what="the first worker to be stuck at the end of its chunk",
            timeout=90,
            workers=workers,
            alive=("first",),
        )
        assert [path.name for path in folder.glob("*.partial")] == ["lot-00001.csv.partial"]  # written, uncommitted

        workers.kill("first")
        lock.rollback()
        _wait_for(
            lambda: not _scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (blocked,)),
            what="PostgreSQL to roll back the dead worker's transaction",
            timeout=30,
            workers=workers,
        )
        assert not HealthSpace.objects.exists() and not ProvisionalCode.objects.exists()
        assert not InformationMessage.objects.exists() and not OutboxMessage.objects.exists()
        assert set(run.chunks.values_list("status", flat=True)) == {ChunkStatus.PENDING}

        workers.start("second")
        _wait_for(
            lambda: run.chunks.filter(status=ChunkStatus.DONE).count() == chunks - 1,
            what="the second worker to process every chunk still queued",
            timeout=180,
            workers=workers,
            alive=("second",),
        )
        # The killed chunk's message waits unacknowledged until the visibility timeout (an hour): the beat
        # job re-queues it.
        assert run.chunks.get(status=ChunkStatus.PENDING).number == 1
        assert campaign_resume() == 1
        letter_batches = run.chunks.count()  # every chunk of this population has letters

        def finished() -> bool:
            run.refresh_from_db()
            return (
                run.status == RunStatus.DONE
                and not OutboxMessage.objects.exclude(status=OutboxStatus.SENT).exists()
                and len(list(folder.glob("lot-*.epreuve.pdf"))) == letter_batches
            )

        _wait_for(
            finished, what="the run, its e-mails and its proofs", timeout=180, workers=workers, alive=("second",)
        )
        letter_codes = _letter_codes(folder)
        partials = list(folder.rglob("*.partial"))
    finally:
        lock.close()
        workers.stop_all()
        if run is not None:
            shutil.rmtree(print_dir(run), ignore_errors=True)  # after the workers: no file appears later
            settings.MEDIA_ROOT = tmp_path / "media"

    # Everyone once: one space, one unused code, one information message.
    people = set(Patient.objects.values_list("pk", flat=True))
    assert len(people) == 300
    assert sorted(HealthSpace.objects.values_list("patient_id", flat=True)) == sorted(people)
    assert sorted(ProvisionalCode.objects.values_list("patient_id", flat=True)) == sorted(people)
    assert not ProvisionalCode.objects.filter(used_at__isnull=False).exists()
    assert not ProvisionalCode.objects.filter(voided_at__isnull=False).exists()
    assert sorted(InformationMessage.objects.values_list("space__patient_id", flat=True)) == sorted(people)
    assert set(run.chunks.values_list("status", flat=True)) == {ChunkStatus.DONE}  # the killed try left no trace

    # E-mails: one outbox row per e-mail person (the dedupe key), all sent.
    email_spaces = HealthSpace.objects.filter(patient__nir__in=email).values_list("pk", flat=True)
    assert len(email) == 150
    assert sorted(OutboxMessage.objects.values_list("dedupe_key", flat=True)) == sorted(
        f"campaign:{pk}" for pk in email_spaces
    )

    # Letters: each letter-person exactly once, with a code that is stored (not the killed try's).
    assert len(letter_codes) == len(letter) == 150
    stored = ProvisionalCode.objects.filter(code_hash__in=[codes.code_hash(codes.normalize(c)) for c in letter_codes])
    assert stored.count() == 150 and set(stored.values_list("channel", flat=True)) == {CodeChannel.LETTER}
    assert set(stored.values_list("patient__nir", flat=True)) == letter
    assert partials == []


def test_the_chunk_task_does_nothing_twice_nor_while_another_transaction_holds_the_chunk(tmp_path, mailoutbox):
    """Eager tasks here: what matters is the claim (SKIP LOCKED on the chunk row, then its status)."""
    email, letter = _population(tmp_path, families=1, adults_per_family=6)
    with mock.patch.object(process_campaign_chunk_task, "delay_on_commit"):  # queued by hand below
        call_command("lancer_campagne", "--taille-lot", "100", "--sans-attendre", stdout=StringIO())
    run = CampaignRun.objects.get()
    chunk = run.chunks.get()
    folder = print_dir(run)

    with _connect() as other:  # another worker is in the middle of this chunk
        other.execute("SELECT id FROM activation_campaignchunk WHERE id = %s FOR UPDATE", (chunk.pk,))
        started = time.monotonic()
        process_campaign_chunk_task.delay(chunk.pk)
        assert campaign_chunk_process(chunk_id=chunk.pk) is False
        assert time.monotonic() - started < 5, "skipped, not waited for"
        other.rollback()
    assert not HealthSpace.objects.exists() and not OutboxMessage.objects.exists() and mailoutbox == []
    assert not folder.exists()
    assert CampaignChunk.objects.get(pk=chunk.pk).status == ChunkStatus.PENDING

    process_campaign_chunk_task.delay(chunk.pk)

    def snapshot() -> tuple:
        done = CampaignChunk.objects.get(pk=chunk.pk)
        files = {path.name: (path.read_bytes(), path.stat().st_mtime_ns) for path in folder.iterdir()}
        return (
            HealthSpace.objects.count(),
            ProvisionalCode.objects.count(),
            InformationMessage.objects.count(),
            OutboxMessage.objects.count(),
            len(mailoutbox),
            (done.status, done.finished_at, done.emails, done.letters),
            files,
        )

    first = snapshot()
    assert first[:5] == (8, 8, 8, len(email), len(email))
    assert set(first[6]) == {"lot-00001.csv", "lot-00001.epreuve.pdf"}
    assert len(_letter_codes(folder)) == len(letter)

    process_campaign_chunk_task.delay(chunk.pk)
    assert campaign_chunk_process(chunk_id=chunk.pk) is False
    assert snapshot() == first
