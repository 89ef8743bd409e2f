from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def connections_daily_task() -> dict:
    """Daily: pause the connections of young adults made while minors, then send the 90-day reminders."""
    from catalogue.services import connections_pause_after_majority, reminders_send

    return {"paused": connections_pause_after_majority(), "reminded": reminders_send()}
