"""`python -m bench.run_command [--hotfix NAME]... [--variant NAME]... -- COMMAND ARGS...`

Runs a management command (like manage.py, under bench.settings) after applying benchmark-only patches
from bench.patches. Used in a subprocess so /usr/bin/time measures the command's own peak RSS.
"""

import argparse
import os
import sys


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.run_command")
    parser.add_argument("--hotfix", action="append", default=[])
    parser.add_argument("--variant", action="append", default=[])
    parser.add_argument(
        "--defer-followups",
        action="store_true",
        help="campaign: record, instead of running in-process, the tasks a chunk queues for OTHER workers "
        "(outbox delivery, print proof PDF); prints their count as JSON on stderr at exit",
    )
    parser.add_argument("--sql-trace", help="write each SQL statement's duration to this JSON file at exit")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    options = parser.parse_args(argv)
    command = options.command[1:] if options.command[:1] == ["--"] else options.command
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from bench import patches

    for name in options.hotfix:
        patches.HOTFIXES[name]()
    for name in options.variant:
        patches.VARIANTS[name]()
    if options.sql_trace:
        _trace_sql(options.sql_trace)
    if options.defer_followups:
        _defer_followups()
    from django.core.management import execute_from_command_line

    execute_from_command_line(["manage.py", *command])


def _defer_followups() -> None:
    """With CELERY_TASK_ALWAYS_EAGER every `.delay()` runs in-process at once: after each chunk, the whole
    outbox would be delivered and a proof PDF rendered before the next chunk starts. In production those
    tasks go to the broker and other workers; here they are counted, and measured separately
    (`python -m bench email`)."""
    import atexit
    import json

    from activation.tasks import render_batch_proof_task
    from espace_sante.outbox.tasks import deliver_outbox_task

    deferred = {"deliver_outbox_task": 0, "render_batch_proof_task": 0}

    def recorder(name):
        def delay(*args, **kwargs):
            deferred[name] += 1

        return delay

    deliver_outbox_task.delay = recorder("deliver_outbox_task")
    render_batch_proof_task.delay = recorder("render_batch_proof_task")
    atexit.register(lambda: sys.stderr.write("\nDEFERRED " + json.dumps(deferred) + "\n"))


def _trace_sql(path: str) -> None:
    """Time every statement (COPY blocks are timed by the code around them, not here), grouped by text."""
    import atexit
    import json
    import time

    from django.db import connection
    from django.db.backends.signals import connection_created

    totals: dict[str, list] = {}

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            key = " ".join(sql.split())[:160]
            entry = totals.setdefault(key, [0, 0.0])
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    def install(sender, connection, **kwargs):
        connection.execute_wrappers.append(wrapper)

    connection_created.connect(install, weak=False)
    if connection.connection is not None:
        connection.execute_wrappers.append(wrapper)

    @atexit.register
    def dump() -> None:
        rows = sorted(
            ([sql, calls, round(seconds, 4)] for sql, (calls, seconds) in totals.items()), key=lambda r: -r[2]
        )
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(rows, handle, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1:])
