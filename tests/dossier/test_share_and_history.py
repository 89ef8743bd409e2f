"""Sharing one document by link and QR code; the history of care and its confidentiality."""

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from dossier.models import MedicalRecord, Reimbursement, ShareLink
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.dossier.factories import PDF, make_document

pytestmark = pytest.mark.django_db


def _share(client, document, hours=72) -> str:
    page = client.post(reverse("dossier:document_share", args=[document.public_id]), {"hours": hours})
    html = page.content.decode()
    assert "data:image/svg+xml" in html  # the QR code
    return html.split('id="share-url" type="text" readonly value="')[1].split('"')[0].replace("http://testserver", "")


def test_share_link_opens_that_document_only_and_each_opening_is_traced(client, login_as, personas):
    document = make_document(personas.camille, title="Ordonnance à montrer")
    make_document(personas.camille, title="Autre document")
    login_as(client, "camille")
    url = _share(client, document)
    stranger = type(client)()
    page = stranger.get(url).content.decode()
    assert "Ordonnance à montrer" in page and "Autre document" not in page
    assert stranger.get(url + "fichier/").content == PDF
    assert ShareLink.objects.get().openings == 1
    history = client.get(reverse("dossier:access_history") + "?onglet=autres").content.decode()
    assert "a ouvert un document par un lien de partage" in history
    assert ShareLink.objects.get().token_hash not in url  # the token itself is never stored


def test_revoked_and_expired_links_stop_working(client, login_as, personas):
    document = make_document(personas.camille)
    login_as(client, "camille")
    url = _share(client, document, hours=1)
    link = ShareLink.objects.get()
    client.post(reverse("dossier:share_revoke", args=[link.public_id]))
    stranger = type(client)()
    assert stranger.get(url).status_code == 410
    assert stranger.get(url + "fichier/").status_code == 404
    url2 = _share(client, document, hours=24)
    ShareLink.objects.filter(revoked_at__isnull=True).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    assert stranger.get(url2).status_code == 410
    assert AuditEvent.objects.filter(action=Action.SHARE_REFUSED).count() >= 2
    assert stranger.get("/partage/n-importe-quoi/").status_code == 404


def test_unplanned_share_duration_is_refused(client, login_as, personas):
    document = make_document(personas.camille)
    login_as(client, "camille")
    client.post(reverse("dossier:document_share", args=[document.public_id]), {"hours": 9999})
    assert not ShareLink.objects.exists()


def test_reimbursements_import_and_history_of_care(client, login_as, personas, tmp_path):
    path = tmp_path / "remboursements.csv"
    path.write_text(
        "nir,date,nature,libelle,prescripteur,executant,quantite,code_cip,secret\n"
        f"{personas.camille.nir},2026-09-03,medicament,Amoxicilline 1 g,Dr Anne Martin,Pharmacie du Capitole,"
        "1,3400930000001,\n"
        f"{personas.camille.nir},2026-10-12,consultation,Consultation généraliste,,Dr Anne Martin,1,,\n"
        f"{personas.camille.nir},2026-10-40,consultation,Date fausse,,,1,,\n"
        "185057800608436,2026-10-12,consultation,Inconnu,,,1,,\n"
        f"{personas.leo.nir},2026-08-01,consultation,Consultation confidentielle,,,1,,1\n",
        encoding="utf-8",
    )
    from io import StringIO

    out = StringIO()
    call_command("import_remboursements", str(path), stdout=out)
    assert "5 lines read, 3 imported, 2 rejected" in out.getvalue()
    call_command("import_remboursements", str(path), stdout=StringIO())
    assert Reimbursement.objects.count() == 3  # a second run adds nothing

    login_as(client, "camille")
    page = client.get(reverse("dossier:history_of_care")).content.decode()
    assert "Octobre 2026" in page and "Septembre 2026" in page and "Amoxicilline 1 g" in page


def test_history_of_care_hidden_from_professionals_and_secret_acts_from_parents(client, login_as, personas):
    Reimbursement.objects.create(
        patient=personas.camille,
        care_date=datetime.date(2026, 9, 1),
        kind="medicament",
        label="Traitement",
        line_key="a",
    )
    Reimbursement.objects.create(
        patient=personas.leo,
        care_date=datetime.date(2026, 9, 1),
        kind="consultation",
        label="Consultation confidentielle",
        secret_for_representatives=True,
        line_key="b",
    )
    pro = type(client)()
    login_as(pro, "dr_martin")
    pro.post(
        reverse("pro_search"), {"nir": personas.camille.nir, "birth_date": personas.camille.birth_date.isoformat()}
    )
    assert "Traitement" in pro.get(reverse("pro_record", args=[personas.camille.public_id])).content.decode()
    MedicalRecord.objects.filter(patient=personas.camille).update(history_hidden=True)
    assert "Traitement" not in pro.get(reverse("pro_record", args=[personas.camille.public_id])).content.decode()

    login_as(client, "julien")
    client.post(reverse("accounts:switch_profile"), {"profile": str(personas.leo.public_id)})
    assert "Consultation confidentielle" not in client.get(reverse("dossier:history_of_care")).content.decode()
