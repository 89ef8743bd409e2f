"""import_assures: upsert by NIR, rejected rows reported, children attached, second run changes nothing."""

import csv
from io import StringIO

import pytest
from django.core.management import call_command

from accounts.models import LegalRepresentation, Patient
from tests.activation.factories import family, registry_row, write_registry

pytestmark = pytest.mark.django_db


def _import(path) -> str:
    out = StringIO()
    call_command("import_assures", str(path), stdout=out)
    return out.getvalue()


def test_import_creates_people_attaches_children_and_reports_bad_rows(tmp_path):
    good = [registry_row(i) for i in range(10)]
    parent, child = family(100)
    bad_key = registry_row(200, nir="185057800608436")  # wrong key
    bad_date = registry_row(201, date_naissance="1985-13-40")
    bad_card = registry_row(202, type_carte_vitale="violette")
    unknown_holder = registry_row(203, nir_ouvrant_droit="185057800608437"[:13] + "99")
    orphan = registry_row(204, nir_ouvrant_droit=registry_row(999)["nir"])
    path = write_registry(
        tmp_path / "assures.csv", [*good, parent, child, bad_key, bad_date, bad_card, unknown_holder, orphan]
    )

    output = _import(path)

    assert Patient.objects.count() == 12
    assert "17 rows read" in output and "5 rejected" in output
    kid = Patient.objects.get(nir=child["nir"])
    assert kid.card_holder.nir == parent["nir"]
    assert LegalRepresentation.objects.filter(representative__nir=parent["nir"], represented=kid).exists()
    with open(tmp_path / "assures.csv.rejets.csv", encoding="utf-8") as handle:
        rejects = list(csv.DictReader(handle, delimiter=";"))
    reasons = {row["motif"] for row in rejects}
    assert "NIR invalide (clé ou format)" in reasons
    assert "date de naissance invalide (AAAA-MM-JJ attendu)" in reasons
    assert any("type de carte Vitale inconnu" in reason for reason in reasons)
    assert "ouvrant droit inconnu" in reasons


def test_second_run_changes_nothing_and_updates_are_applied(tmp_path):
    rows = [registry_row(i) for i in range(5)]
    path = write_registry(tmp_path / "assures.csv", rows)
    _import(path)
    before = {p.nir: p.updated_at for p in Patient.objects.all()}
    output = _import(path)
    assert "0 created, 0 updated" in output
    assert {p.nir: p.updated_at for p in Patient.objects.all()} == before

    rows[0]["email"] = "nouvelle.adresse@example.org"
    write_registry(path, rows)
    assert "0 created, 1 updated" in _import(path)
    assert Patient.objects.get(nir=rows[0]["nir"]).email == "nouvelle.adresse@example.org"


def test_the_same_nir_twice_keeps_the_last_line(tmp_path):
    first = registry_row(1)
    second = dict(first, email="derniere@example.org")
    path = write_registry(tmp_path / "assures.csv", [first, second])
    output = _import(path)
    assert Patient.objects.get(nir=first["nir"]).email == "derniere@example.org"
    assert "1 rejected" in output


def test_missing_columns_stop_with_a_clear_error(tmp_path):
    from django.core.management.base import CommandError

    path = tmp_path / "vide.csv"
    path.write_text("nir;nom\n1;2\n")
    with pytest.raises(CommandError, match="colonnes manquantes"):
        _import(path)


def test_a_large_file_imports_with_progress(tmp_path):
    """Progress is reported every 10,000 rows while the CSV reader iterates (a crash there once rolled
    back every import of 10,000 rows or more)."""
    rows = [registry_row(i) for i in range(10_001)]
    path = write_registry(tmp_path / "grand.csv", rows)
    seen = []
    from activation.services.registry import registry_import

    report = registry_import(path=path, progress=seen.append)
    assert report.read == 10_001 and report.created == 10_001 - report.rejected
    assert seen and seen[0] > 0


def _attachments(output: str) -> int:
    return int(output.split(" card attachments changed")[0].rsplit("\n", 1)[-1])


def test_attachments_follow_the_file_and_are_counted_once(tmp_path):
    """A child attached, re-imported unchanged, moved to another card, then on their own card."""
    parent, child = family(300)
    other_parent = registry_row(310, email="")
    path = tmp_path / "assures.csv"

    write_registry(path, [child, parent, other_parent])  # the child's line comes before its holder's
    assert _attachments(_import(path)) == 1
    assert Patient.objects.get(nir=child["nir"]).card_holder.nir == parent["nir"]

    assert _attachments(_import(path)) == 0

    write_registry(path, [dict(child, nir_ouvrant_droit=other_parent["nir"])])  # holder already registered
    output = _import(path)
    assert _attachments(output) == 1 and "0 created, 1 updated" in output
    assert Patient.objects.get(nir=child["nir"]).card_holder.nir == other_parent["nir"]

    write_registry(path, [dict(child, nir_ouvrant_droit="")])
    assert _attachments(_import(path)) == 1
    assert Patient.objects.get(nir=child["nir"]).card_holder is None


def test_a_holder_attached_to_someone_else_in_the_same_file_is_resolved(tmp_path):
    """A chain in one file (a young parent still on their own parent's card): every link is set."""
    grandparent = registry_row(400, email="")
    parent = registry_row(401, holder=grandparent["nir"], email="")
    child = registry_row(402, holder=parent["nir"], email="")
    path = write_registry(tmp_path / "assures.csv", [child, parent, grandparent])
    output = _import(path)
    assert "3 created" in output and _attachments(output) == 2
    assert Patient.objects.get(nir=child["nir"]).card_holder.nir == parent["nir"]
    assert Patient.objects.get(nir=parent["nir"]).card_holder.nir == grandparent["nir"]
    assert "0 created, 0 updated" in _import(path)
