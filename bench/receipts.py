"""Benchmark: opposition receipts (PDF, WeasyPrint) rendered by two real Celery workers.

    .venv/bin/python -m bench.receipts [--count 2000] [--workers 2] [--sample 100]

Setup (ORM, database `bench_receipts`): `--count` people with an opposed space and an online opposition
without receipt, each with an e-mail address (so each task also queues the receipt's e-mail, as in
production). Then:

1. baseline, in process: one WeasyPrint render of a one-line page, `--sample` times (same font
   configuration and fetcher as the product's `render_pdf`);
2. in process: `--sample` receipts rendered the product's way (`opposition_receipt_context` +
   `render_pdf`): wall and CPU ms per render, p50/p95, PDF size;
3. `--workers` Celery worker processes (`--pool=solo`, production settings, Redis broker in database 14,
   a queue of their own) started, the `render_opposition_receipt_task` of every opposition queued, and the
   time measured from the first task queued until every opposition has its `receipt_name`; per-task
   durations from the workers' "succeeded in" log lines; stored (encrypted) file sizes on disk.

Targets (2 cores): >= 20 PDFs/s through the workers, one render p95 <= 150 ms, <= 50 KB per PDF.
"""

import argparse
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import time

from bench.web import (
    ROOT,
    LoadSampler,
    Site,
    log,
    percentile,
    print_rows,
    process_tree_cpu,
    purge_broker,
    verdict,
    write_result,
)

SITE = Site("receipts", port=8897)
QUEUE = "bench-receipts"
TARGETS = {"pdfs_per_s": 20, "render_p95_ms": 150, "pdf_kb": 50}

SEED = """
import datetime, json, sys, uuid
from django.db import transaction
from accounts.models import Patient
from activation.enums import OppositionChannel, SpaceStatus
from activation.models import HealthSpace, Opposition
from activation.services.spaces import new_reference

count = int(sys.argv[1])
now = datetime.datetime.now(datetime.UTC)
with transaction.atomic():
    patients = Patient.objects.bulk_create(
        Patient(
            nir=(n := f"2{80 + i % 20:02d}{1 + i % 12:02d}75{i:06d}") + f"{97 - int(n) % 97:02d}",
            birth_name=f"Durand{i}",
            first_names="Claire Marie",
            birth_date=datetime.date(1980 + i % 20, 1 + i % 12, 1 + i % 28),
            sex="F",
            birth_place_insee="75056",
            email=f"personne{i}@example.org",
            address_line="12 rue des Lilas",
            postal_code="31000",
            city="Toulouse",
        )
        for i in range(count)
    )
    spaces = HealthSpace.objects.bulk_create(
        HealthSpace(patient=p, status=SpaceStatus.OPPOSED, informed_at=now - datetime.timedelta(days=10))
        for p in patients
    )
    oppositions = Opposition.objects.bulk_create(
        Opposition(space=s, reference=f"MES-O-{i:08d}", channel=OppositionChannel.ONLINE) for i, s in enumerate(spaces)
    )
print(json.dumps([o.pk for o in oppositions]))
"""

IN_PROCESS = """
import json, resource, sys, time
from activation.models import Opposition
from activation.services.receipts import opposition_receipt_context
from espace_sante.pdf import _fetcher, _font_config, render_pdf, STATIC_DIR

sample = int(sys.argv[1])

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def baseline_render():
    from weasyprint import HTML
    return HTML(string="<p>Bonjour.</p>", base_url=STATIC_DIR.as_uri() + "/", url_fetcher=_fetcher()).write_pdf(
        font_config=_font_config())

def timed(function, n):
    function()  # warm: fonts, templates, stylesheets
    walls, cpus, sizes = [], [], []
    for _ in range(n):
        c, w = cpu(), time.perf_counter()
        size = function()
        walls.append((time.perf_counter() - w) * 1000)
        cpus.append((cpu() - c) * 1000)
        sizes.append(size)
    return {"wall_ms": walls, "cpu_ms": cpus, "bytes": sizes}

baseline = timed(lambda: len(baseline_render()), sample)
oppositions = list(Opposition.objects.select_related("space__patient__card_holder").order_by("pk")[:sample + 1])
queue = iter(oppositions)
def receipt():
    opposition = next(queue)
    return len(render_pdf("activation/pdf/opposition_receipt.html", opposition_receipt_context(opposition)))
receipts = timed(receipt, sample)
print(json.dumps({"baseline": baseline, "receipt": receipts}))
"""

QUEUE_TASKS = """
import json, sys, time
from espace_sante.celery import app
from activation.tasks import render_opposition_receipt_task
ids = json.loads(open(sys.argv[1]).read())
app.conf.task_default_queue = sys.argv[2]
started = time.time()
with app.producer_or_acquire() as producer:
    for pk in ids:
        render_opposition_receipt_task.apply_async((pk,), queue=sys.argv[2], producer=producer)
print(json.dumps({"queued_at": started, "queued_in_s": time.time() - started}))
"""

STORED = """
import json
from activation.models import Opposition
print(json.dumps(Opposition.objects.exclude(receipt_name="").count()))
"""

COUNT_STORED_SQL = "SELECT count(*) FROM activation_opposition WHERE receipt_name <> ''"


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": round(percentile(values, 0.5), 2),
        "p95": round(percentile(values, 0.95), 2),
        "max": round(max(values), 2),
        "mean": round(sum(values) / len(values), 2),
    }


def start_worker(number: int) -> subprocess.Popen:
    log_path = SITE.work_dir / f"worker-{number}.log"
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "espace_sante",
        "worker",
        "--pool=solo",
        "-Q",
        QUEUE,
        "-n",
        f"{QUEUE}-{number}@%h",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "--loglevel=INFO",
        f"task_default_queue={QUEUE}",  # the e-mails' delivery tasks stay on this private queue too
    ]
    with open(log_path, "wb") as handle:
        return subprocess.Popen(  # noqa: S603
            command,
            cwd=ROOT,
            env=SITE.env(LOG_LEVEL="INFO"),
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def purge_queue() -> None:
    purge_broker(QUEUE, "celery")


def stored_count() -> int:
    import psycopg

    from bench.web import SERVER

    with psycopg.connect(f"{SERVER}/{SITE.db_name}") as connection:
        return connection.execute(COUNT_STORED_SQL).fetchone()[0]


SUCCEEDED = re.compile(r'"time": "([^"]+)".*"message": "Task ([\w.]+)\[[^\]]+\] succeeded')


def task_durations() -> list[float]:
    """ms between a receipt task's end and the previous task's end in the same worker (task + dispatch).

    The log scrubber hides the numbers of Celery's "succeeded in N s", so the interval between successive
    ends in one busy solo worker is used; the first task of each worker (nothing before it) is left out."""
    durations = []
    for path in SITE.work_dir.glob("worker-*.log"):
        previous = None
        for stamp, task in SUCCEEDED.findall(path.read_text(errors="replace")):
            moment = datetime.datetime.fromisoformat(stamp)
            if previous is not None and task.endswith("render_opposition_receipt_task"):
                durations.append((moment - previous).total_seconds() * 1000)
            previous = moment
    return durations


def stored_sizes() -> list[int]:
    folder = SITE.media_root / "chiffre" / "recus"
    return [path.stat().st_size for path in folder.glob("opposition-*.pdf")] if folder.exists() else []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.receipts", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="oppositions whose receipt the workers render")
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes (solo pool)")
    parser.add_argument("--sample", type=int, default=100, help="renders timed in process (and baseline)")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds allowed to the workers")
    options = parser.parse_args(argv)

    log(f"database {SITE.db_name}: reset and {options.count} oppositions")
    SITE.reset_database(seed=False, static=False)
    ids = SITE.shell_json(SEED, str(options.count))
    ids_file = SITE.work_dir / "ids.json"
    ids_file.write_text(json.dumps(ids))

    log(f"in process: {options.sample} one-line pages (baseline) and {options.sample} receipts")
    with LoadSampler() as in_process_load:
        timings = SITE.shell_json(IN_PROCESS, str(options.sample))
    baseline = {k: summary(v) for k, v in timings["baseline"].items()}
    receipt = {k: summary(v) for k, v in timings["receipt"].items()}

    log(f"{options.workers} Celery workers; {len(ids)} tasks queued")
    for path in SITE.work_dir.glob("worker-*.log"):
        path.unlink()
    purge_queue()
    workers = [start_worker(n) for n in range(options.workers)]
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # ready: every worker says so in its log
            ready = sum("ready." in p.read_text(errors="replace") for p in SITE.work_dir.glob("worker-*.log"))
            if ready >= options.workers:
                break
            if any(w.poll() is not None for w in workers):
                raise SystemExit("a worker exited; see " + str(SITE.work_dir))
            time.sleep(0.5)
        cpu_before = sum(process_tree_cpu(w.pid) for w in workers)
        with LoadSampler() as worker_load:
            queued = SITE.shell_json(QUEUE_TASKS, str(ids_file), QUEUE)
            deadline = time.monotonic() + options.timeout
            done = 0
            while time.monotonic() < deadline:
                done = stored_count()
                if done >= len(ids):
                    break
                time.sleep(0.25)
            finished = time.time()
        worker_cpu = sum(process_tree_cpu(w.pid) for w in workers) - cpu_before
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGTERM)
        for worker in workers:
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
        purge_queue()
    elapsed = finished - queued["queued_at"]
    rate = done / elapsed
    durations = task_durations()
    sizes = stored_sizes()
    result = {
        "count": len(ids),
        "stored": done,
        "workers": options.workers,
        "pool": "solo",
        "elapsed_s": round(elapsed, 2),
        "queueing_s": round(queued["queued_in_s"], 2),
        "pdfs_per_s": round(rate, 1),
        "workers_cpu_s": round(worker_cpu, 2),
        "pdfs_per_worker_cpu_s": round(done / worker_cpu, 2),
        "task_ms": summary(durations) if durations else None,
        "stored_bytes": summary(sizes) if sizes else None,
        "in_process": {"baseline_one_line_page": baseline, "receipt": receipt, "load": in_process_load.as_dict()},
        "workers_load": worker_load.as_dict(),
        "targets": TARGETS,
    }
    render_p95 = receipt["wall_ms"]["p95"]
    size_kb = receipt["bytes"]["max"] / 1024
    rows = [
        {
            "name": f"receipts through {options.workers} workers",
            "figure": f"{rate:.1f} PDFs/s ({done}/{len(ids)} in {elapsed:.1f} s); "
            f"{done / worker_cpu:.1f} per worker CPU s",
            "baseline": f"{1000 / baseline['wall_ms']['mean'] * options.workers:.1f} one-line PDFs/s "
            f"(in-process rate × {options.workers})",
            "target": f">= {TARGETS['pdfs_per_s']} PDFs/s",
            "result": verdict(rate >= TARGETS["pdfs_per_s"] and done == len(ids)),
            "load": worker_load.label(),
        },
        {
            "name": "one receipt render, in process",
            "figure": f"p95 {render_p95} ms wall, p50 {receipt['wall_ms']['p50']} ms "
            f"(CPU p50 {receipt['cpu_ms']['p50']} ms)",
            "baseline": f"one-line page p95 {baseline['wall_ms']['p95']} ms, p50 {baseline['wall_ms']['p50']} ms "
            f"(CPU p50 {baseline['cpu_ms']['p50']} ms)",
            "target": f"p95 <= {TARGETS['render_p95_ms']} ms",
            "result": verdict(render_p95 <= TARGETS["render_p95_ms"]),
            "load": in_process_load.label(),
        },
        {
            "name": "one task in a worker (end to end of successive tasks)",
            "figure": f"p95 {result['task_ms']['p95']} ms, p50 {result['task_ms']['p50']} ms"
            if durations
            else "(no task log lines)",
            "baseline": "-",
            "target": "(information)",
            "result": "-",
            "load": worker_load.label(),
        },
        {
            "name": "receipt size",
            "figure": f"max {size_kb:.1f} KB, p50 {receipt['bytes']['p50'] / 1024:.1f} KB"
            + (f"; stored encrypted max {max(sizes) / 1024:.1f} KB" if sizes else ""),
            "baseline": f"one-line page {baseline['bytes']['p50'] / 1024:.1f} KB",
            "target": f"<= {TARGETS['pdf_kb']} KB",
            "result": verdict(size_kb <= TARGETS["pdf_kb"]),
            "load": "",
        },
    ]
    result["table"] = rows
    path = write_result("receipts", result)
    print_rows(rows)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
