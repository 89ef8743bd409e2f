"""Real Celery workers for fault tests: a private broker, worker processes on the test database, waits.

A worker is a separate process (`celery -A espace_sante worker --pool=solo`) on the database pytest-django
created, so SIGKILL really drops its PostgreSQL connection and its unacknowledged message. Isolation: Redis
database 15, a key prefix (kombu's `global_keyprefix`) and a queue unique to the test, deleted afterwards;
the worker writes under the test's MEDIA_ROOT. Tests that use them are marked `slow` and transactional.

Run as a module (`python -m tests.workers worker …`), this file is the worker's entry point: the Celery
command line, after the test settings have been adjusted for what a worker test needs to observe (e-mails
written to files, one file per SMTP session, instead of Django's in-memory outbox, which dies with the
process).
"""

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

import psycopg
import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import pools

BROKER_DB = 15
WORKER_SETTINGS = "espace_sante.settings.test"
EMAIL_FILE_PATH_VARIABLE = "TEST_WORKER_EMAIL_FILE_PATH"


@dataclass
class Broker:
    url: str
    queue: str
    options: dict  # broker transport options, global_keyprefix included

    @property
    def prefix(self) -> str:
        return self.options["global_keyprefix"]


def _forget_broker_connections(app) -> None:
    """Celery caches its routes (default queue) and connection pools; rebuild them from app.conf."""
    app._pool = None
    app.__dict__.pop("amqp", None)
    pools.reset()


@contextlib.contextmanager
def private_broker(settings, *, name: str = "worker-test") -> Iterator[Broker]:
    """Tasks sent for real (no eager mode) to a private queue under a private key prefix in Redis DB 15.

    `settings` is pytest-django's fixture: the eager flag it changes is restored after the test."""
    from espace_sante.celery import app

    token = f"{name}-{uuid.uuid4().hex[:12]}"
    url = urlsplit(settings.CELERY_BROKER_URL)._replace(path=f"/{BROKER_DB}").geturl()
    private = Broker(
        url=url, queue=token, options={**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": f"{token}:"}
    )
    names = ("broker_url", "broker_transport_options", "task_default_queue", "task_always_eager")
    saved = {name: app.conf[name] for name in names}
    app.conf.update(
        broker_url=private.url,
        broker_transport_options=private.options,
        task_default_queue=private.queue,
        task_always_eager=False,
    )
    _forget_broker_connections(app)
    settings.CELERY_TASK_ALWAYS_EAGER = False
    try:
        yield private
    finally:
        app.conf.update(saved)
        _forget_broker_connections(app)
        client = redis.Redis.from_url(private.url)
        for key in client.scan_iter(match=f"{private.prefix}*"):
            client.delete(key)
        client.close()


@dataclass
class Workers:
    """Worker processes on the test database and the private broker; logs kept to explain a failure."""

    broker: Broker
    logs: Path
    email_dir: Path | None = None  # e-mails written there (filebased backend) instead of the locmem outbox
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def application_name(self, name: str) -> str:
        return f"{self.broker.queue}-{name}"  # PostgreSQL's pg_stat_activity.application_name (PGAPPNAME)

    def start(self, name: str) -> subprocess.Popen:
        database = connection.settings_dict
        credentials = quote(database["USER"]) + (f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else "")
        host, port = database["HOST"] or "127.0.0.1", database["PORT"] or "5432"
        environment = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": WORKER_SETTINGS,
            "DATABASE_URL": f"postgres://{credentials}@{host}:{port}/{database['NAME']}",
            "CELERY_BROKER_URL": self.broker.url,
            "PGAPPNAME": self.application_name(name),
            # The server checks the client socket while a query runs (a lock wait included): a killed worker's
            # backend ends within a quarter second instead of finishing the statement it was blocked in.
            "PGOPTIONS": "-c client_connection_check_interval=250",
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),  # the test's own folder: the test sees what the worker wrote
            # The keys of this test process (set_default_keys or the environment), not a worker's default.
            **{key: os.environ[key] for key in ("SECRET_KEY", "DATA_ENCRYPTION_KEYS", "CODE_HASH_KEY")},
        }
        if self.email_dir is not None:
            environment[EMAIL_FILE_PATH_VARIABLE] = str(self.email_dir)
        command = [
            sys.executable,
            "-m",
            "tests.workers",
            "-A",
            "espace_sante",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "-Q",
            self.broker.queue,
            "-n",
            f"{self.application_name(name)}@%h",
            "--without-mingle",
            "--without-gossip",
            "--without-heartbeat",
            "--loglevel=INFO",
            # Celery settings from the command line: the test settings make tasks eager, not here.
            "task_always_eager=false",
            f"task_default_queue={self.broker.queue}",
            f"broker_transport_options=(json){json.dumps(self.broker.options)}",
        ]
        with open(self.logs / f"{name}.log", "wb") as log:
            process = subprocess.Popen(
                command,
                cwd=settings.BASE_DIR,
                env=environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[name] = process
        return process

    def kill(self, name: str) -> None:
        process = self.processes[name]
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def stop_all(self) -> None:
        running = [process for process in self.processes.values() if process.poll() is None]
        for process in running:
            os.killpg(process.pid, signal.SIGTERM)  # warm shutdown; the group is the worker we started
        for process in running:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)

    def check_alive(self, *names: str) -> None:
        for name in names:
            if self.processes[name].poll() is not None:
                pytest.fail(f"worker {name} exited with {self.processes[name].returncode}\n{self.tail()}")

    def tail(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}" for path in sorted(self.logs.glob("*.log"))
        )


@contextlib.contextmanager
def running_workers(broker: Broker, logs: Path, *, email_dir: Path | None = None) -> Iterator[Workers]:
    """Workers started by the block are stopped (warm shutdown, then SIGKILL) when it ends."""
    workers = Workers(broker=broker, logs=logs, email_dir=email_dir)
    try:
        yield workers
    finally:
        workers.stop_all()


def wait_for(
    condition: Callable[[], object], *, what: str, timeout: float, workers: Workers, alive: tuple[str, ...] = ()
):
    """Poll `condition` until it returns something truthy; fail with the workers' logs after `timeout` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers.check_alive(*alive)
        if result := condition():
            return result
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}\n{workers.tail()}")


def connect() -> psycopg.Connection:
    """A connection of its own to the test database: another transaction, as another worker would hold."""
    database = connection.settings_dict
    return psycopg.connect(
        dbname=database["NAME"],
        user=database["USER"] or None,
        password=database["PASSWORD"] or None,
        host=database["HOST"] or None,
        port=database["PORT"] or None,
    )


def scalar(sql: str, params: tuple = ()):
    """The first column of the first row, or None."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row[0] if row else None


def blocked_on_lock(workers: Workers, name: str, *, relation: str | None = None) -> int | None:
    """The pid of the worker's backend while it waits for a lock (on `relation`, or any), else None."""
    return scalar(
        "SELECT a.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE a.application_name = %s AND NOT l.granted AND (%s::text IS NULL OR l.relation = %s::regclass) "
        "LIMIT 1",
        (workers.application_name(name), relation, relation),
    )


def backend_gone(pid: int) -> bool:
    """PostgreSQL has noticed a killed client and rolled its transaction back."""
    return not scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", (pid,))


def _worker_main() -> None:
    import django

    django.setup()
    from django.conf import settings as worker_settings

    if folder := os.environ.get(EMAIL_FILE_PATH_VARIABLE):
        worker_settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
        worker_settings.EMAIL_FILE_PATH = folder

    from celery.bin.celery import main

    sys.argv = ["celery", *sys.argv[1:]]
    sys.exit(main())


if __name__ == "__main__":
    _worker_main()
