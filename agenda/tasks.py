from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_agenda_reminders_task() -> int:
    """Every 15 minutes: queue the agenda reminders now due. Idempotent (the outbox dedupes each reminder)."""
    from agenda.services import reminders_send

    return reminders_send()
