from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True)
def password_reset_send_task(email: str) -> int:
    """Look the address up and queue the reset link, away from the request (see password_reset_request)."""
    from accounts.services import password_reset_send

    return password_reset_send(email=email)
