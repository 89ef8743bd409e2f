"""The campaign on a real Celery worker and Redis: a worker killed mid-chunk loses nothing, sends nothing twice.

The worker (tests/workers.py) is killed while its chunk waits for a table lock the test holds: after its
COPYs and its `.partial` print file, before its commit; the code under test has no hook for this. Print
files are written under the test's own MEDIA_ROOT.
"""

import contextlib
import csv
import time
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.core.management import call_command

from accounts.models import Patient
from activation import codes
from activation.enums import ChunkStatus, CodeChannel, RunStatus
from activation.models import CampaignChunk, CampaignRun, HealthSpace, InformationMessage, ProvisionalCode
from activation.services.campaign import PRINT_COLUMNS, campaign_chunk_process, campaign_resume, print_dir
from activation.tasks import process_campaign_chunk_task
from espace_sante.outbox.enums import OutboxStatus
from espace_sante.outbox.models import OutboxMessage
from tests.activation.factories import family, nir_for, registry_row, write_registry
from tests.workers import backend_gone, blocked_on_lock, connect, private_broker, running_workers, wait_for

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]

CHUNK_SIZE = 20


@pytest.fixture
def broker(settings):
    with private_broker(settings, name="campaign-test") as private:
        yield private


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


def test_a_worker_killed_mid_chunk_loses_nobody_and_informs_nobody_twice(tmp_path, broker):
    email, letter = _population(tmp_path, families=30, adults_per_family=8)  # 300 people, 150 by e-mail
    with running_workers(broker, tmp_path) as workers, contextlib.closing(connect()) as lock:
        out = StringIO()
        call_command("lancer_campagne", "--taille-lot", str(CHUNK_SIZE), "--sans-attendre", stdout=out)
        run = CampaignRun.objects.get()
        chunks = run.chunks.count()
        assert (run.people, chunks) == (300, 300 // CHUNK_SIZE), out.getvalue()
        folder = print_dir(run)

        # Hold a lock that a chunk's last statement (UPDATE of its own row) must wait for.
        lock.execute("LOCK TABLE activation_campaignchunk IN SHARE MODE")
        workers.start("first")
        blocked = wait_for(
            lambda: blocked_on_lock(workers, "first", relation="activation_campaignchunk"),
            what="the first worker to be stuck at the end of its chunk",
            timeout=90,
            workers=workers,
            alive=("first",),
        )
        assert [path.name for path in folder.glob("*.partial")] == ["lot-00001.csv.partial"]  # written, uncommitted

        workers.kill("first")
        lock.rollback()
        wait_for(
            lambda: backend_gone(blocked),
            what="PostgreSQL to roll back the dead worker's transaction",
            timeout=30,
            workers=workers,
        )
        assert not HealthSpace.objects.exists() and not ProvisionalCode.objects.exists()
        assert not InformationMessage.objects.exists() and not OutboxMessage.objects.exists()
        assert set(run.chunks.values_list("status", flat=True)) == {ChunkStatus.PENDING}

        workers.start("second")
        wait_for(
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

        wait_for(finished, what="the run, its e-mails and its proofs", timeout=180, workers=workers, alive=("second",))
        letter_codes = _letter_codes(folder)
        partials = list(folder.rglob("*.partial"))

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

    with connect() as other:  # another worker is in the middle of this chunk
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
