"""Queueing work after commit without making the request fail when the broker is down.

The row that needs the work is already committed; a periodic sweeper (beat) finds rows whose work is
missing and queues it again, so nothing is lost while Redis is away.
"""

import logging

from django.db import transaction

logger = logging.getLogger(__name__)


def enqueue_on_commit(task, *args) -> None:
    def send() -> None:
        try:
            task.delay(*args)
        except Exception:  # noqa: BLE001 — broker down: the sweeper will queue it again
            logger.warning("could not queue %s; the periodic sweep will retry", task.name)

    transaction.on_commit(send)
