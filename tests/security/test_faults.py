"""Faults: with Redis (cache and broker) gone, pages that need no task still work, writes that queue work
keep it in the database, and the sweepers send it once Redis is back."""

import pytest
from django.urls import reverse

from activation import codes
from activation.models import Opposition
from tests.conftest import SERIAL

pytestmark = pytest.mark.django_db(transaction=True)
DEAD_REDIS = "redis://127.0.0.1:1/0"  # nothing listens on port 1


@pytest.fixture
def redis_down(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "espace_sante.lib.cache.TolerantRedisCache",
            "LOCATION": DEAD_REDIS,
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    from espace_sante.celery import app

    previous = (
        app.conf.broker_url,
        app.conf.task_always_eager,
        app.conf.broker_connection_retry,
        app.conf.broker_connection_max_retries,
    )
    app.conf.broker_url = DEAD_REDIS
    app.conf.task_always_eager = False
    app.conf.broker_connection_retry = False
    app.conf.broker_connection_max_retries = 0
    app.conf.broker_transport_options = {"max_retries": 0, "socket_connect_timeout": 0.2}
    app.pool.force_close_all()
    yield
    (
        app.conf.broker_url,
        app.conf.task_always_eager,
        app.conf.broker_connection_retry,
        app.conf.broker_connection_max_retries,
    ) = previous
    app.pool.force_close_all()


def test_pages_and_an_opposition_work_while_redis_is_down_and_the_receipt_follows(
    client, informed, redis_down, monkeypatch
):
    patient, code = informed()
    assert client.get(reverse("home")).status_code == 200
    response = client.post(
        reverse("activation:start"),
        {"code": codes.display(code), "nir": patient.nir, "card_type": "avec_photo", "serial": SERIAL},
    )
    assert response.status_code == 302
    response = client.post(reverse("activation:oppose"))
    assert response.status_code == 302  # recorded, even though its receipt could not be queued
    opposition = Opposition.objects.get(space__patient=patient)
    assert opposition.receipt_name == ""

    # Redis is back: the sweeper (beat) finds the receipt that was never queued and queues it once.
    from activation import tasks
    from activation.services.receipts import opposition_receipt_render

    queued = []
    monkeypatch.setattr(tasks.render_opposition_receipt_task, "delay", queued.append)
    Opposition.objects.filter(pk=opposition.pk).update(recorded_at=opposition.recorded_at.replace(year=2025))
    assert tasks.sweep_missing_receipts_task() == 1
    assert queued == [opposition.pk]
    opposition_receipt_render(opposition_id=queued[0])
    opposition.refresh_from_db()
    assert opposition.receipt_name
