"""Activation and opposition with a provisional code, as a person does it in the browser."""

import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from activation import codes
from activation.enums import SpaceStatus
from activation.models import HealthSpace, Opposition, ProvisionalCode
from dossier.models import MedicalRecord
from espace_sante.audit.actions import Action
from espace_sante.audit.models import AuditEvent
from tests.activation.conftest import SERIAL

pytestmark = pytest.mark.django_db
PASSWORD = "Tisane-Verte-42!"


def identify(client, patient, secret, **overrides):
    data = {"code": codes.display(secret), "nir": patient.nir, "card_type": "avec_photo", "serial": SERIAL}
    data.update(overrides)
    return client.post(reverse("activation:start"), data)


def test_code_input_is_forgiving(client, informed):
    patient, code = informed()
    sloppy = codes.display(code).lower().replace("-", " ").replace("0", "o").replace("1", "l")
    response = identify(
        client, patient, code, code=sloppy, nir=" ".join(patient.nir[i : i + 3] for i in range(0, 15, 3))
    )
    assert response.url == reverse("activation:choice")


def test_activation_end_to_end(client, informed, mailoutbox):
    patient, code = informed()
    identify(client, patient, code)
    assert "Jeanne Martin" in client.get(reverse("activation:choice")).content.decode()
    response = client.post(
        reverse("activation:activate"),
        {
            "email": "jeanne.martin@example.org",
            "phone": "06 11 22 33 44",
            "identifiant": "jeanne.martin31",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "accept": "on",
        },
    )
    assert response.url == reverse("activation:activate_verify")
    token = mailoutbox[-1].body.split("vérification Mon espace santé : ")[1][:6]
    wrong = client.post(reverse("activation:activate_verify"), {"token": "000000" if token != "000000" else "111111"})
    assert "Code incorrect" in wrong.content.decode()
    response = client.post(reverse("activation:activate_verify"), {"token": token})
    assert response.url == reverse("accounts:dashboard")
    assert "Bonjour Jeanne" in client.get(reverse("accounts:dashboard")).content.decode()

    patient.refresh_from_db()
    assert patient.user.username == "jeanne.martin31" and patient.user.check_password(PASSWORD)
    assert HealthSpace.objects.get(patient=patient).status == SpaceStatus.ACTIVE
    assert MedicalRecord.objects.filter(patient=patient).exists()
    assert ProvisionalCode.objects.get(patient=patient).used_at is not None
    assert AuditEvent.objects.filter(action=Action.SPACE_STATUS_CHANGED, patient=patient).exists()
    # The code served once.
    client.post(reverse("accounts:logout"))
    again = identify(client, patient, code)
    assert "déjà activé" in again.content.decode() or "déjà été utilisé" in again.content.decode()


def test_activation_form_rejects_weak_passwords_and_taken_identifiants(client, informed, personas):
    patient, code = informed()
    identify(client, patient, code)
    response = client.post(
        reverse("activation:activate"),
        {
            "email": "x@example.org",
            "identifiant": "camille.lefevre",
            "password1": "Martin-2026!",
            "password2": "Martin-2026!",
            "phone": "123",
        },
    )
    page = response.content.decode()
    assert "Cet identifiant est déjà utilisé" in page
    assert "ni votre nom ni votre prénom" in page or "ne doit pas contenir votre nom" in page
    assert "numéro de mobile français" in page
    assert "conditions générales" in page
    assert not ProvisionalCode.objects.get(patient=patient).used_at


@pytest.mark.parametrize(
    "field", [{"nir": "185057800608436"}, {"serial": "80250000029999999999"}, {"card_type": "sans_photo"}]
)
def test_any_wrong_field_gives_one_same_message(client, informed, field):
    patient, code = informed()
    if "nir" in field:  # a valid NIR that is not hers
        field = {"nir": "182063155504233"}
    response = identify(client, patient, code, **field)
    assert "ne permettent pas de vous identifier" in response.content.decode()
    assert ProvisionalCode.objects.get(patient=patient).failed_attempts == 1


def test_a_malformed_nir_gets_a_message_next_to_the_field(client, informed):
    patient, code = informed()
    response = identify(client, patient, code, nir="12345")
    assert "15 caractères, clé comprise" in response.content.decode()
    assert ProvisionalCode.objects.get(patient=patient).failed_attempts == 0


def test_five_wrong_serials_void_the_code_and_the_nir_is_slowed_down(client, informed):
    patient, code = informed()
    for attempt in range(5):
        identify(client, patient, code, serial=f"8025000002000000000{attempt}", REMOTE_ADDR=f"198.51.100.{attempt}")
    stored = ProvisionalCode.objects.get(patient=patient)
    assert stored.voided_at is not None
    assert AuditEvent.objects.filter(action=Action.CODE_VOIDED, patient=patient).exists()
    # The NIR is now slowed down, not locked for good: the message says when to come back.
    response = identify(client, patient, code, REMOTE_ADDR="198.51.100.77")
    assert "Trop de tentatives" in response.content.decode()


def test_expired_code_has_its_own_message_and_a_new_code_link(client, informed):
    patient, code = informed()
    ProvisionalCode.objects.filter(patient=patient).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    page = identify(client, patient, code).content.decode()
    assert "a expiré" in page
    assert reverse("activation:new_code") in page


def test_opposition_with_pdf_receipt_and_double_submit(
    client, informed, mailoutbox, django_capture_on_commit_callbacks
):
    patient, code = informed()
    identify(client, patient, code)
    assert client.get(reverse("activation:oppose")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("activation:oppose"))
    opposition = Opposition.objects.get(space__patient=patient)
    assert response.url == reverse("activation:opposition_done", args=[opposition.public_id])
    double = client.post(reverse("activation:oppose"))
    assert double.url == reverse("activation:start")
    assert Opposition.objects.count() == 1

    done = client.get(response.url).content.decode()
    assert opposition.reference in done
    pdf = client.get(reverse("activation:opposition_receipt", args=[opposition.public_id]))
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf["Content-Disposition"].startswith("attachment;")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Justificatif d’opposition" in text or "Justificatif d'opposition" in text
    assert "Jeanne Alice Martin" in text
    assert patient.masked_nir.replace(" ", "")[:5] in text.replace(" ", "")
    assert patient.nir not in text.replace(" ", "")
    assert opposition.reference in text
    assert "L.1111-13-1" in text
    assert HealthSpace.objects.get(patient=patient).status == SpaceStatus.OPPOSED
    receipt_mail = [m for m in mailoutbox if "justificatif" in m.subject.lower()]
    assert len(receipt_mail) == 1 and receipt_mail[0].attachments[0][0].endswith(".pdf")
    # Another browser cannot fetch it.
    assert type(client)().get(reverse("activation:opposition_receipt", args=[opposition.public_id])).status_code == 404


def test_opposed_person_can_change_their_mind_with_a_new_code(
    client, informed, mailoutbox, django_capture_on_commit_callbacks
):
    patient, code = informed()
    identify(client, patient, code)
    client.post(reverse("activation:oppose"))
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("activation:new_code"),
            {"nir": patient.nir, "serial": SERIAL, "birth_date": patient.birth_date.strftime("%d/%m/%Y")},
        )
    new_code = mailoutbox[-1].body.split("Code provisoire : ")[1][:19]
    response = identify(client, patient, codes.normalize(new_code))
    assert response.url == reverse("activation:choice")
    page = client.get(reverse("activation:choice")).content.decode()
    assert "Activer mon profil" in page
    assert "plus possible de s’y opposer" in page


def test_new_code_request_answers_the_same_and_sends_nothing_on_mismatch(
    client, informed, mailoutbox, django_capture_on_commit_callbacks
):
    patient, _ = informed()
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(
            reverse("activation:new_code"),
            {"nir": patient.nir, "serial": "80250000020000000000", "birth_date": "02/04/1990"},
        )
        matched = client.post(
            reverse("activation:new_code"), {"nir": patient.nir, "serial": SERIAL, "birth_date": "02/04/1990"}
        )
    assert page.content.decode().count("Si les informations saisies correspondent") == 1
    assert matched.content.decode().count("Si les informations saisies correspondent") == 1
    assert len(mailoutbox) == 1
    assert ProvisionalCode.objects.filter(patient=patient, voided_at__isnull=True).count() == 1


def test_new_code_goes_by_sms_without_an_email(
    client, informed, mailoutbox, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.SMS_FILE_PATH = tmp_path / "sms"
    patient, _ = informed(email="")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("activation:new_code"), {"nir": patient.nir, "serial": SERIAL, "birth_date": "02/04/1990"})
    assert mailoutbox == []
    sms = list((tmp_path / "sms").glob("*.txt"))
    assert len(sms) == 1 and "code provisoire" in sms[0].read_text()


def test_child_code_with_the_parents_card(client, informed):
    parent, _ = informed()
    child, child_code = informed(order=2, holder=parent, birth=datetime.date(2018, 5, 5))
    response = identify(client, child, child_code, nir=parent.nir)
    assert response.url == reverse("activation:choice")
    page = client.get(reverse("activation:choice")).content.decode()
    assert "rattaché à la carte Vitale de Jeanne Martin" in page
    with_child_nir = identify(type(client)(), child, child_code, nir=child.nir)
    assert "ne permettent pas de vous identifier" in with_child_nir.content.decode()
