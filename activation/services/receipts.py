"""Opposition and closure receipts: rendered once by a task, stored encrypted, e-mailed when possible."""

from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from activation.enums import OppositionChannel
from activation.models import Closure, Opposition
from activation.services.enrolment import card_holder
from espace_sante.crypto.storage import encrypted_storage
from espace_sante.outbox.services import email_enqueue
from espace_sante.pdf import render_pdf


def _store(name: str, pdf: bytes) -> str:
    storage = encrypted_storage()
    if storage.exists(name):
        storage.delete(name)
    return storage.save(name, ContentFile(pdf))


def opposition_receipt_context(opposition: Opposition) -> dict:
    patient = opposition.space.patient
    return {
        "opposition": opposition,
        "patient": patient,
        "holder": card_holder(patient),
        "recorded_at": timezone.localtime(opposition.recorded_at),
        "by_agent": opposition.channel in (OppositionChannel.PHONE, OppositionChannel.DESK),
    }


def opposition_receipt_render(*, opposition_id: int) -> None:
    """Render and store the receipt, then e-mail it to the card holder once. Safe to run twice."""
    opposition = Opposition.objects.select_related("space__patient__card_holder").get(pk=opposition_id)
    if not opposition.receipt_name:
        context = opposition_receipt_context(opposition)
        name = _store(
            f"recus/opposition-{opposition.public_id}.pdf",
            render_pdf("activation/pdf/opposition_receipt.html", context),
        )
        Opposition.objects.filter(pk=opposition.pk, receipt_name="").update(receipt_name=name)
        opposition.receipt_name = name
    holder = card_holder(opposition.space.patient)
    if holder.email:
        context = opposition_receipt_context(opposition)
        with transaction.atomic():
            email_enqueue(
                to=holder.email,
                subject="Votre justificatif d’opposition à Mon espace santé",
                body=render_to_string("emails/activation/opposition_receipt.txt", context),
                dedupe_key=f"opposition-receipt:{opposition.public_id}",
                attachment_name=opposition.receipt_name,
                attachment_filename=f"justificatif-opposition-{opposition.reference}.pdf",
            )


def closure_receipt_render(*, closure_id: int) -> None:
    closure = Closure.objects.select_related("space__patient").get(pk=closure_id)
    if closure.receipt_name:
        return
    patient = closure.space.patient
    context = {
        "closure": closure,
        "patient": patient,
        "closed_at": timezone.localtime(closure.closed_at),
        "archive_until": timezone.localdate(closure.space.archive_until or closure.closed_at),
    }
    name = _store(f"recus/cloture-{closure.public_id}.pdf", render_pdf("activation/pdf/closure_receipt.html", context))
    Closure.objects.filter(pk=closure.pk, receipt_name="").update(receipt_name=name)


def receipt_bytes(name: str) -> bytes:
    with encrypted_storage().open(name) as handle:
        return handle.read()
