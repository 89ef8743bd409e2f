"""lancer_campagne: one space, one code and one message per person; e-mails and print batches exactly once.

Celery runs eagerly here and the test transaction never commits, so the chunks queued by `campaign_start`
(`delay_on_commit`) run when `django_capture_on_commit_callbacks(execute=True)` exits. The real worker,
killed mid-chunk, is in test_campaign_worker.py.
"""

import csv
import datetime
import io
import re
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from pypdf import PdfReader

from accounts.models import Patient
from activation import codes
from activation.enums import ChunkStatus, CodeChannel, CodeState, OppositionChannel, RunStatus, SpaceStatus
from activation.models import (
    CODE_VALIDITY,
    INFORMATION_DELAY,
    CampaignChunk,
    CampaignRun,
    HealthSpace,
    InformationMessage,
    ProvisionalCode,
)
from activation.services import campaign
from activation.services.campaign import PRINT_COLUMNS, campaign_chunk_process, campaign_resume, print_dir
from activation.services.enrolment import opposition_record
from dossier.models import MedicalRecord
from espace_sante.access.actor import Actor
from espace_sante.outbox.enums import OutboxStatus
from espace_sante.outbox.models import OutboxMessage
from espace_sante.outbox.services import outbox_flush
from tests.activation.factories import family, nir_for, registry_row, write_registry

pytestmark = pytest.mark.django_db

CODE_LINE = re.compile(r"^Code provisoire : ([0-9A-Z]{4}(?:-[0-9A-Z]{4}){3})$", re.MULTILINE)
REPORT_LINE = re.compile(
    r"^Campaign [0-9a-f-]{36}: (\d+) people, (\d+) e-mails, (\d+) letters, (\d+) skipped, (\d+) chunks pending$",
    re.MULTILINE,
)
MASK = "XXXX-XXXX-XXXX-XXXX"


@dataclass
class Population:
    """NIRs of the imported people, by how the campaign must reach them."""

    email: set[str] = field(default_factory=set)
    letter: set[str] = field(default_factory=set)
    children: dict[str, str] = field(default_factory=dict)  # child's NIR → card holder's NIR
    loire_atlantique: set[str] = field(default_factory=set)
    deceased: str = ""

    @property
    def informed(self) -> set[str]:
        return self.email | self.letter


def _family(index: int, *, parent_email: str = "") -> list[dict]:
    """factories.family with a child NIR derived from `index` (the factory's random one can collide)."""
    parent, child = family(index)
    born = datetime.date.fromisoformat(child["date_naissance"])
    child["nir"] = nir_for(sex=2, year=born.year, month=born.month, commune="777", order=index)
    parent["email"] = parent_email
    return [parent, child]


def _import(path: Path, rows: list[dict]) -> None:
    out = StringIO()
    call_command("import_assures", str(write_registry(path, rows)), stdout=out)
    assert f"{len(rows)} valid" in out.getvalue() and " 0 rejected" in out.getvalue(), out.getvalue()


@pytest.fixture
def population(tmp_path) -> Population:
    """15 people to inform (7 by e-mail, 8 by letter, two of them children) and one deceased person."""
    people = Population()
    adults_with_email = [registry_row(i) for i in range(4)]
    adults_without_email = [registry_row(i, email="") for i in range(10, 13)]
    families = [*_family(20), *_family(30)]  # no e-mail: both codes by letter to the parent
    emailed_family = _family(40, parent_email="parent40@example.org")  # the child's code to the parent's inbox
    deceased = registry_row(50)
    nantes = [registry_row(60, postal_code="44000"), registry_row(61, postal_code="44100", email="")]
    _import(
        tmp_path / "assures.csv",
        [*adults_with_email, *adults_without_email, *families, *emailed_family, deceased, *nantes],
    )
    Patient.objects.filter(nir=deceased["nir"]).update(deceased_on=datetime.date(2024, 11, 2))

    people.email = {row["nir"] for row in [*adults_with_email, *emailed_family, nantes[0]]}
    people.letter = {row["nir"] for row in [*adults_without_email, *families, nantes[1]]}
    people.children = {child["nir"]: parent["nir"] for parent, child in (families[:2], families[2:], emailed_family)}
    people.loire_atlantique = {row["nir"] for row in nantes}
    people.deceased = deceased["nir"]
    return people


def _launch(capture, *args: str) -> str:
    """Run the operator command; its chunks run (eagerly) when the captured on-commit callbacks do.

    So a new run's report line is printed before its chunks ran (see test_final_report_line_…).
    """
    out = StringIO()
    with capture(execute=True):
        call_command("lancer_campagne", *args, stdout=out)
    return out.getvalue()


def _report(output: str) -> tuple[int, ...]:
    return tuple(int(value) for value in REPORT_LINE.findall(output)[-1])


def _counts(run: CampaignRun) -> tuple[int, ...]:
    report = campaign.campaign_report(run)
    return report.people, report.emails, report.letters, report.skipped, report.pending_chunks


def _code(clear: str) -> ProvisionalCode:
    """The stored code whose keyed hash is that of the clear code a person received."""
    return ProvisionalCode.objects.select_related("patient__card_holder").get(
        code_hash=codes.code_hash(codes.normalize(clear))
    )


def _day(moment: datetime.datetime) -> str:
    return timezone.localdate(moment).strftime("%d/%m/%Y")


def _letters(folder: Path) -> list[dict]:
    """Every row of every print batch (lot-NNNNN.csv) of a run, checking the header of each."""
    rows = []
    for path in sorted(folder.glob("lot-*.csv")):
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter=";")
            assert next(reader) == PRINT_COLUMNS, path.name
            rows += [dict(zip(PRINT_COLUMNS, row, strict=True)) for row in reader]
    return rows


def _pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(path.read_bytes())).pages)


def _database_text() -> str:
    """Every row of every table, as PostgreSQL prints it: where a clear code would show if stored."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT t::text FROM {connection.ops.quote_name(table)} AS t")  # noqa: S608
            rows += [row[0] for row in cursor.fetchall()]
    return "\n".join(rows)


def _partials() -> list[Path]:
    return sorted(Path(settings.MEDIA_ROOT).rglob("*.partial"))


def test_campaign_informs_each_person_once_by_email_or_letter(
    population, mailoutbox, django_capture_on_commit_callbacks
):
    output = _launch(django_capture_on_commit_callbacks, "--taille-lot", "3")

    run = CampaignRun.objects.get()
    assert run.status == RunStatus.DONE and run.finished_at is not None and run.people == 15
    chunks = list(run.chunks.order_by("number"))
    assert [(c.number, c.status, len(c.patient_ids)) for c in chunks] == [
        (n, ChunkStatus.DONE, 3) for n in range(1, 6)
    ]
    assert "15 people" in output  # printed when the chunks were queued; the final counts are below
    assert _counts(run) == (15, 7, 8, 0, 0)

    # One space (informed), one valid code and one information message per person; nothing for the deceased.
    spaces = HealthSpace.objects.select_related("patient__card_holder", "information")
    assert sorted(space.patient.nir for space in spaces) == sorted(population.informed)
    for space in spaces:
        patient, holder = space.patient, space.patient.card_holder or space.patient
        expected = CodeChannel.EMAIL if patient.nir in population.email else CodeChannel.LETTER
        assert space.status == SpaceStatus.INFORMED and space.informed_at is not None
        [code] = patient.provisional_codes.all()
        assert code.state == CodeState.VALID and code.channel == expected and code.chunk.run == run
        assert code.expires_at - code.issued_at == CODE_VALIDITY
        assert (space.information.channel, space.information.recipient) == (expected, holder)
    assert InformationMessage.objects.count() == ProvisionalCode.objects.count() == 15
    assert not HealthSpace.objects.filter(patient__nir=population.deceased).exists()
    assert not ProvisionalCode.objects.filter(patient__nir=population.deceased).exists()

    # E-mails: sent to the card holder, with the code line and its expiry date; the code matches its hash.
    clear_codes = {}
    assert len(mailoutbox) == len(population.email)
    for mail in mailoutbox:
        [clear] = CODE_LINE.findall(mail.body)
        code = _code(clear)
        patient, holder = code.patient, code.patient.card_holder or code.patient
        assert code.code_hash == codes.code_hash(codes.normalize(clear))
        assert mail.to == [holder.email]
        assert f"Valable jusqu’au {_day(code.expires_at)}, une seule fois." in mail.body
        assert f"Bonjour {holder.first_name} {holder.last_name}," in mail.body
        if patient.nir in population.children:
            assert f"votre enfant {patient.display_name}, rattaché à votre carte Vitale" in mail.body
        clear_codes[patient.nir] = clear
    assert set(clear_codes) == population.email

    # Letters: one row per letter-person in the print batches; a child's letter goes to the card holder.
    folder = print_dir(run)
    letters = _letters(folder)
    for row in letters:
        code = _code(row["code_provisoire"])
        patient, holder = code.patient, code.patient.card_holder or code.patient
        assert code.channel == CodeChannel.LETTER and code.chunk.number == int(row["reference"][:5])
        assert row["destinataire"] == f"{holder.first_name} {holder.last_name}".upper()
        assert (row["adresse"], row["code_postal"], row["commune"]) == (
            holder.address_line,
            holder.postal_code,
            holder.city.upper(),
        )
        assert row["personne_concernee"] == (patient.display_name if patient.nir in population.children else "")
        assert row["date_expiration"] == _day(code.expires_at)
        assert patient.nir not in clear_codes, "informed twice"
        clear_codes[patient.nir] = row["code_provisoire"]
    assert len(letters) == len(population.letter)
    assert set(clear_codes) == population.informed
    children_by_letter = {nir for nir in population.children if nir in population.letter}
    assert {row["personne_concernee"] for row in letters} - {""} == {
        Patient.objects.get(nir=nir).display_name for nir in children_by_letter
    }

    # Files: final names only; a masked proof per batch; whole-batch PDFs only with --pdf.
    assert _partials() == []
    batches = [c.number for c in run.chunks.filter(letters__gt=0).order_by("number")]
    assert sorted(path.name for path in folder.iterdir()) == sorted(
        name for n in batches for name in (f"lot-{n:05d}.csv", f"lot-{n:05d}.epreuve.pdf")
    )
    proofs = "\n".join(_pdf_text(folder / f"lot-{n:05d}.epreuve.pdf") for n in batches)
    assert proofs.count(MASK) == len(letters) and "ÉPREUVE" in proofs
    assert not any(clear in proofs for clear in clear_codes.values())

    # The clear codes are nowhere in the database; delivered e-mail bodies are wiped.
    outbox = OutboxMessage.objects.order_by("pk")
    assert {m.dedupe_key for m in outbox} == {
        f"campaign:{pk}"
        for pk in HealthSpace.objects.filter(patient__nir__in=population.email).values_list("pk", flat=True)
    }
    assert {m.status for m in outbox} == {OutboxStatus.SENT}
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM outbox_outboxmessage")
        assert [body for (body,) in cursor.fetchall()] == [None] * len(population.email)
    dump = _database_text()
    for clear in clear_codes.values():
        assert clear not in dump and codes.normalize(clear) not in dump

    # Rerunning the command informs nobody twice: a new, empty run.
    output = _launch(django_capture_on_commit_callbacks, "--taille-lot", "3")
    assert _report(output) == (0, 0, 0, 0, 0)
    assert "Print files" not in output
    assert CampaignRun.objects.count() == 2
    assert (HealthSpace.objects.count(), ProvisionalCode.objects.count(), InformationMessage.objects.count()) == (
        15,
        15,
        15,
    )
    assert OutboxMessage.objects.count() == len(mailoutbox) == len(population.email)
    assert len(_letters(folder)) == len(population.letter)
    assert not print_dir(CampaignRun.objects.latest("pk")).exists()


def test_email_bodies_are_encrypted_until_delivered_then_wiped(
    population, mailoutbox, django_capture_on_commit_callbacks
):
    with mock.patch("espace_sante.outbox.tasks.deliver_outbox_task.delay"):  # the broker is down
        _launch(django_capture_on_commit_callbacks, "--departements", "31")
    assert mailoutbox == []
    queued = list(OutboxMessage.objects.order_by("pk"))
    assert len(queued) == len(population.email - population.loire_atlantique)
    with connection.cursor() as cursor:
        cursor.execute("SELECT body FROM outbox_outboxmessage")
        raw = b"\n".join(bytes(body) for (body,) in cursor.fetchall())  # the column holds the ciphertext
    clear_codes = [CODE_LINE.findall(message.body)[0] for message in queued]  # decrypted through the field
    assert raw and b"Code provisoire" not in raw
    assert not any(clear.encode() in raw or codes.normalize(clear).encode() in raw for clear in clear_codes)

    assert outbox_flush() == len(queued)  # what the periodic sweep does
    assert sorted(CODE_LINE.findall(mail.body)[0] for mail in mailoutbox) == sorted(clear_codes)
    assert list(OutboxMessage.objects.values_list("body", flat=True).distinct()) == [None]


def test_rerun_resumes_an_unfinished_campaign_and_counts_the_skipped(
    population, mailoutbox, django_capture_on_commit_callbacks
):
    # No worker took the chunks (the callbacks are dropped with the test transaction).
    out = StringIO()
    call_command("lancer_campagne", "--taille-lot", "4", "--sans-attendre", stdout=out)
    run = CampaignRun.objects.get()
    assert _report(out.getvalue()) == (15, 0, 0, 0, 4)
    assert run.status == RunStatus.RUNNING and not HealthSpace.objects.exists()
    died = sorted(population.email - set(population.children) - population.loire_atlantique)[0]
    Patient.objects.filter(nir=died).update(deceased_on=timezone.localdate())  # after the freeze

    output = _launch(django_capture_on_commit_callbacks)  # same command, no options: it resumes

    assert output.startswith("Resuming the unfinished campaign started")
    assert _report(output) == (15, 6, 8, 1, 0)
    assert f"Print files: {print_dir(run)}" in output
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and CampaignRun.objects.count() == 1
    assert sorted(HealthSpace.objects.values_list("patient__nir", flat=True)) == sorted(population.informed - {died})
    assert len(mailoutbox) == 6 and len(_letters(print_dir(run))) == 8
    assert _partials() == []

    output = _launch(django_capture_on_commit_callbacks)
    assert _report(output) == (0, 0, 0, 0, 0)
    assert HealthSpace.objects.count() == 14 and len(mailoutbox) == 6


@pytest.mark.django_db(transaction=True)
def test_final_report_line_as_an_operator_sees_it(population, mailoutbox):
    """Committed for real: chunks run (eagerly) when campaign_start commits, before the report."""
    out = StringIO()
    call_command("lancer_campagne", "--taille-lot", "3", stdout=out)

    run = CampaignRun.objects.get()
    assert out.getvalue().splitlines() == [
        f"Campaign {run.public_id}: 15 people, 7 e-mails, 8 letters, 0 skipped, 0 chunks pending",
        f"Print files: {print_dir(run)}",
    ]
    assert len(mailoutbox) == 7 and len(_letters(print_dir(run))) == 8 and _partials() == []


def test_departements_limit_and_pdf(population, mailoutbox, django_capture_on_commit_callbacks):
    _launch(django_capture_on_commit_callbacks, "--departements", "44", "--pdf")

    run = CampaignRun.objects.get()
    assert run.departements == ["44"] and run.render_pdf
    assert _counts(run) == (2, 1, 1, 0, 0)
    assert set(HealthSpace.objects.values_list("patient__nir", flat=True)) == population.loire_atlantique
    [letter] = _letters(print_dir(run))
    text = _pdf_text(print_dir(run) / "lot-00001.pdf")  # the whole batch, real codes, for the print house
    assert letter["code_provisoire"] in text and letter["destinataire"] in text
    assert MASK in _pdf_text(print_dir(run) / "lot-00001.epreuve.pdf")

    eligible = list(campaign.eligible_patients().values_list("nir", flat=True))
    _launch(django_capture_on_commit_callbacks, "--limite", "2", "--taille-lot", "1")
    limited = CampaignRun.objects.latest("pk")
    assert limited.limit == 2 and not limited.render_pdf and _counts(limited)[0] == 2
    assert set(HealthSpace.objects.values_list("patient__nir", flat=True)) == population.loire_atlantique | set(
        eligible[:2]
    )
    assert not list(print_dir(limited).glob("lot-?????.pdf"))

    output = _launch(django_capture_on_commit_callbacks, "--departements", " 75, 13 ")
    assert _report(output) == (0, 0, 0, 0, 0)
    assert CampaignRun.objects.latest("pk").departements == ["75", "13"]
    assert HealthSpace.objects.count() == 4


def test_spaces_open_six_weeks_after_the_information_unless_opposed(population, django_capture_on_commit_callbacks):
    _launch(django_capture_on_commit_callbacks)  # one chunk: everyone informed at the same instant
    [informed_at] = set(HealthSpace.objects.values_list("informed_at", flat=True))
    opposed = Patient.objects.get(nir=sorted(population.email)[0])
    opposition_record(
        patient=opposed,
        channel=OppositionChannel.ONLINE,
        by=Actor.anonymous(),
        code=opposed.provisional_codes.get(),
    )

    def open_spaces(at: datetime.datetime) -> str:
        out = StringIO()
        with mock.patch("django.utils.timezone.now", return_value=at):
            call_command("ouvrir_espaces", stdout=out)
        return out.getvalue().strip()

    assert open_spaces(informed_at + INFORMATION_DELAY - datetime.timedelta(seconds=1)) == "0 spaces opened"
    assert not HealthSpace.objects.filter(status=SpaceStatus.OPEN).exists() and not MedicalRecord.objects.exists()

    at = informed_at + INFORMATION_DELAY
    assert open_spaces(at) == "14 spaces opened"
    opened = HealthSpace.objects.exclude(patient=opposed)
    assert {(space.status, space.opened_at) for space in opened} == {(SpaceStatus.OPEN, at)}
    assert set(MedicalRecord.objects.values_list("patient__nir", flat=True)) == population.informed - {opposed.nir}
    assert HealthSpace.objects.get(patient=opposed).status == SpaceStatus.OPPOSED
    assert open_spaces(at + datetime.timedelta(days=1)) == "0 spaces opened"


class WorkerDied(Exception):
    """Stands for a worker killed between the commit of its chunk and the rename of its print file."""


def _die_after_commit(chunk_id: int) -> None:
    with mock.patch.object(campaign, "_publish_print_files", side_effect=WorkerDied), pytest.raises(WorkerDied):
        campaign_chunk_process(chunk_id=chunk_id)
    assert CampaignChunk.objects.get(pk=chunk_id).status == ChunkStatus.DONE


def test_resume_publishes_a_batch_left_partial_and_requeues_the_rest(population, mailoutbox):
    call_command("lancer_campagne", "--taille-lot", "8", "--sans-attendre", stdout=StringIO())
    run = CampaignRun.objects.get()
    first, second = run.chunks.order_by("number")
    _die_after_commit(first.pk)
    folder = print_dir(run)
    assert [path.name for path in _partials()] == ["lot-00001.csv.partial"]

    assert campaign_resume() == 1  # the beat job: publishes the first batch, re-queues the second chunk

    run.refresh_from_db()
    assert run.status == RunStatus.DONE and _partials() == []
    assert {path.name for path in folder.glob("lot-*.csv")} == {"lot-00001.csv", "lot-00002.csv"}
    assert len(_letters(folder)) == 8 and HealthSpace.objects.count() == 15
    assert campaign_chunk_process(chunk_id=first.pk) is False  # the redelivered task finds it done


def test_the_last_chunk_does_not_close_the_run_over_an_unpublished_batch(population, mailoutbox):
    call_command("lancer_campagne", "--taille-lot", "8", "--sans-attendre", stdout=StringIO())
    run = CampaignRun.objects.get()
    first, second = run.chunks.order_by("number")
    _die_after_commit(first.pk)

    assert campaign_chunk_process(chunk_id=second.pk) is True  # another worker finishes the run

    run.refresh_from_db()
    assert run.status == RunStatus.DONE
    assert _partials() == [], "a closed run is never resumed: its batches must all be published"
    assert len(_letters(print_dir(run))) == 8
    assert campaign_resume() == 0


def test_a_retry_does_not_publish_the_batch_of_an_attempt_that_died(population, mailoutbox):
    call_command("lancer_campagne", "--departements", "44", "--pdf", "--sans-attendre", stdout=StringIO())
    chunk = CampaignChunk.objects.get()
    with mock.patch.object(campaign, "render_pdf", side_effect=WorkerDied), pytest.raises(WorkerDied):
        campaign_chunk_process(chunk_id=chunk.pk)  # dies after writing its CSV, before its commit
    assert not HealthSpace.objects.exists() and [path.name for path in _partials()] == ["lot-00001.csv.partial"]
    # Before the retry, the only letter-person of the chunk is no longer eligible.
    Patient.objects.filter(nir__in=population.loire_atlantique & population.letter).update(
        deceased_on=timezone.localdate()
    )

    assert campaign_chunk_process(chunk_id=chunk.pk) is True

    chunk.refresh_from_db()
    assert (chunk.emails, chunk.letters, chunk.skipped) == (1, 0, 1)
    assert _partials() == []
    assert not list(print_dir(chunk.run).glob("lot-*")), "a letter whose code was never stored"


def test_publishing_a_batch_that_someone_else_just_published_is_not_an_error(population, mailoutbox):
    call_command("lancer_campagne", "--taille-lot", "8", "--sans-attendre", stdout=StringIO())
    first = CampaignChunk.objects.select_related("run").get(number=1)
    _die_after_commit(first.pk)
    real_glob = Path.glob

    def glob_then_lose_the_race(self, pattern):
        found = list(real_glob(self, pattern))
        for partial in found:  # campaign_resume (beat) renames them between our glob and our rename
            partial.rename(partial.with_name(partial.name.removesuffix(".partial")))
        return found

    with mock.patch.object(Path, "glob", glob_then_lose_the_race):
        campaign._publish_print_files(first)

    assert _partials() == [] and (print_dir(first.run) / "lot-00001.csv").exists()
