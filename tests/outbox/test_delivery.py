"""Outbox delivery: each message once, failures kept for later, the session left as it was found."""

import pytest
from django.core import mail
from django.db import connection

from espace_sante.outbox.enums import Channel, OutboxStatus
from espace_sante.outbox.models import OutboxMessage
from espace_sante.outbox.services import outbox_claim, outbox_deliver, outbox_flush

pytestmark = pytest.mark.django_db(transaction=True)


def _synchronous_commit() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        return cursor.fetchone()[0]


def _queue(count: int) -> None:
    """Rows as email_enqueue writes them, without its delivery task (delivered by hand here)."""
    for number in range(count):
        OutboxMessage.objects.create(
            channel=Channel.EMAIL, recipient=f"personne{number}@example.org", subject="Objet", body=f"Corps {number}"
        )


def test_a_batch_is_sent_once_and_the_session_setting_is_restored():
    _queue(5)
    assert _synchronous_commit() == "on"
    assert outbox_flush() == 5
    assert outbox_flush() == 0
    assert len(mail.outbox) == 5
    assert sorted(m.body for m in mail.outbox) == [f"Corps {n}" for n in range(5)]
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {OutboxStatus.SENT}
    assert OutboxMessage.objects.filter(body__isnull=False).count() == 0  # bodies wiped once sent
    assert _synchronous_commit() == "on"  # relaxed commits stay inside the delivery


def test_a_failing_message_goes_back_to_the_queue_and_the_others_are_sent(monkeypatch):
    _queue(3)
    from espace_sante.outbox import services

    real_send = services._send_email

    def flaky(connection, message):
        if message.recipient == "personne1@example.org":
            raise ConnectionResetError
        real_send(connection, message)

    monkeypatch.setattr(services, "_send_email", flaky)
    assert outbox_deliver(outbox_claim()) == 2
    failed = OutboxMessage.objects.get(recipient="personne1@example.org")
    assert (failed.status, failed.attempts, failed.last_error) == (OutboxStatus.QUEUED, 1, "ConnectionResetError")
    assert failed.body == "Corps 1"  # kept, still encrypted, for the next attempt
    assert OutboxMessage.objects.filter(status=OutboxStatus.SENT).count() == 2
