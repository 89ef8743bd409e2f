"""Benchmark: simulated patients logging in and using the portal at once, for minutes.

    .venv/bin/python -m bench.mixed_load [--users 200] [--duration 300] [--ramp 30] [--think 2 6]

gunicorn (`--workers` sync workers, production settings, database `bench_mixed`) with the demo personas
plus `--users` patients, each with an active space, an authenticator app (TOTP, known key), 20 documents
and one conversation started by Dr Martin. One Python thread per simulated patient (http.client, cookies
by hand, no redirects followed), started over `--ramp` seconds:

1. logs in: GET the login page, POST identifiant + password, POST the TOTP code computed from the
   device's key (RFC 6238, as an authenticator app does); each patient logs in once (the device refuses a
   code twice, so a second login would wait for the next 30-second step);
2. until `--duration` seconds are over, after a think time drawn in `--think`, one of: the document list
   (30 %), the message list then the conversation (30 %), the measures page (/profil-medical/mesures/)
   then a new weight (25 %, the write), the dashboard (15 %).

Every request is recorded (kind, status, latency). Afterwards the Measure rows of the simulated patients
are counted: they must equal the writes the clients saw succeed (302), i.e. no lost write, and no answer
may be a 5xx or a connection error.

Targets: 0 server errors, p99 <= 300 ms, no lost write. The p99 is given over all requests and without
the password step (Argon2 on purpose, ~0.1 s of CPU), the login being a deliberate cost of its own.
"""

import argparse
import collections
import hashlib
import hmac
import random
import struct
import sys
import threading
import time

from bench.web import Browser, Site, csrf_token, log, measured, percentile, print_rows, verdict, write_result

SITE = Site("mixed", port=8894)
TARGETS = {"server_errors": 0, "p99_ms": 300, "lost_writes": 0}
PASSWORD = "Bench-Sante-2026!"  # noqa: S105 (throw-away accounts in a throw-away database)

SEED = """
import datetime, hashlib, json, sys, uuid
from django.db import transaction
from accounts import services as account_services
from accounts.demo import _patient, _space
from accounts.enums import Sex
from accounts.models import Professional
from activation.enums import SpaceStatus
from dossier.models import Document
from espace_sante.access.actor import Actor
from espace_sante.lib.bulk import copy_insert
from messagerie import services as messaging

users, password = int(sys.argv[1]), sys.argv[2]
martin = Professional.objects.get(user__username="dr.martin")
by_martin = Actor.for_user(martin.user, verified=True)
fields = ["public_id", "patient", "title", "category", "care_date", "added_at", "author_kind", "file_name",
          "content_type", "size", "original_filename", "hidden_from_professionals", "hidden_from_representatives",
          "author_label"]
now = datetime.datetime.now(datetime.UTC)
people = []
for i in range(users):
    n = f"2900631{i:06d}"
    username = f"bench.mixed{i:04d}"
    key_hex = hashlib.sha1(username.encode()).hexdigest()
    with transaction.atomic():
        patient = _patient(nir=n + f"{97 - int(n) % 97:02d}", birth_name=f"Charge{i}", first_names="Alice",
                           birth_date=datetime.date(1990, 6, 1), sex=Sex.FEMALE, birth_place="31555",
                           email=f"{username}@example.org", username=username)
        patient.user.set_password(password)
        patient.user.save(update_fields=["password"])
        account_services.totp_device_add(user=patient.user, key_hex=key_hex)
        _space(patient, SpaceStatus.ACTIVE)
    copy_insert(Document, fields, (
        (uuid.uuid4(), patient.pk, f"Document {d}", ["biologie", "ordonnances", "imagerie"][d % 3],
         datetime.date(2025, 1, 1) + datetime.timedelta(days=d), now, "patient",
         f"documents/{patient.public_id}/{d}", "application/pdf", 1000, "doc.pdf", False, False, "")
        for d in range(20)
    ))
    conversation = messaging.conversation_start(
        patient=patient, professional=martin, subject="Vos résultats",
        body="Bonjour, vos résultats sont normaux. Bien cordialement, Dr Martin", by=by_martin,
        client_token=uuid.uuid4(),
    )
    people.append({"username": username, "key_hex": key_hex, "conversation": str(conversation.public_id)})
print(json.dumps(people))
"""

COUNT = """
import json
from profil.models import Measure
print(json.dumps(Measure.objects.filter(patient__user__username__startswith="bench.mixed").count()))
"""


def totp(key_hex: str, *, at: float | None = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 (HMAC-SHA1), what an authenticator app shows for the device's key."""
    counter = int((time.time() if at is None else at) // step)
    digest = hmac.new(bytes.fromhex(key_hex), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return f"{code:0{digits}d}"


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[tuple[str, int, float, float]] = []  # kind, status (0: no answer), ms, end time
        self.writes_ok = 0
        self.writes_failed = 0
        self.logins_ok = 0
        self.logins_failed = 0
        self.problems: list[str] = []

    def add(self, kind: str, status: int, ms: float) -> None:
        with self.lock:
            self.requests.append((kind, status, ms, time.time()))


class SimulatedPatient(threading.Thread):
    def __init__(self, person: dict, *, recorder: Recorder, start_at: float, stop_at: float, think, seed: int):
        super().__init__(daemon=True)
        self.person, self.recorder = person, recorder
        self.start_at, self.stop_at, self.think = start_at, stop_at, think
        self.random = random.Random(seed)
        self.browser = Browser(SITE.port, timeout=30)

    def call(self, kind: str, method: str, path: str, form: dict | None = None) -> tuple[int, dict, bytes]:
        started = time.perf_counter()
        try:
            status, headers, body = self.browser.request(method, path, form=form)
        except OSError as error:
            self.recorder.add(kind, 0, (time.perf_counter() - started) * 1000)
            with self.recorder.lock:
                self.recorder.problems.append(f"{kind}: {error!r}")
            return 0, {}, b""
        self.recorder.add(kind, status, (time.perf_counter() - started) * 1000)
        return status, headers, body

    def login(self) -> bool:
        status, _, page = self.call("login page", "GET", "/connexion/")
        if status != 200:
            return False
        form = {"csrfmiddlewaretoken": csrf_token(page), "identifiant": self.person["username"], "password": PASSWORD}
        status, headers, _ = self.call("login password", "POST", "/connexion/", form)
        if status != 302 or "verification" not in headers.get("location", ""):
            return False
        status, _, page = self.call("login otp page", "GET", "/connexion/verification/")
        if status != 200:
            return False
        form = {"csrfmiddlewaretoken": csrf_token(page), "token": totp(self.person["key_hex"])}
        status, headers, _ = self.call("login otp", "POST", "/connexion/verification/", form)
        return status == 302 and "connexion" not in headers.get("location", "")

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.time()))
        try:
            ok = self.login()
        except ValueError as error:  # no CSRF token in a page
            ok = False
            self.recorder.problems.append(f"login: {error}")
        with self.recorder.lock:
            if ok:
                self.recorder.logins_ok += 1
            else:
                self.recorder.logins_failed += 1
        if not ok:
            return
        actions = [self.documents, self.messages, self.measures, self.dashboard]
        weights = [30, 30, 25, 15]
        while time.time() < self.stop_at:
            time.sleep(self.random.uniform(*self.think))
            if time.time() >= self.stop_at:
                break
            self.random.choices(actions, weights)[0]()

    def documents(self) -> None:
        self.call("documents", "GET", "/documents/")

    def dashboard(self) -> None:
        self.call("dashboard", "GET", "/tableau-de-bord/")

    def messages(self) -> None:
        status, _, _ = self.call("messages", "GET", "/messagerie/")
        if status == 200:
            self.call("conversation", "GET", f"/messagerie/{self.person['conversation']}/")

    def measures(self) -> None:
        status, _, page = self.call("measures page", "GET", "/profil-medical/mesures/")
        if status != 200:
            return
        weight = self.random.randint(50, 90)
        day = f"2026-0{self.random.randint(1, 9)}-{self.random.randint(10, 28)}"
        form = {"csrfmiddlewaretoken": csrf_token(page), "kind": "poids", "value": str(weight), "measured_on": day}
        status, _, _ = self.call("measure write", "POST", "/profil-medical/mesures/", form)
        with self.recorder.lock:
            if status == 302:
                self.recorder.writes_ok += 1
            else:
                self.recorder.writes_failed += 1
                self.recorder.problems.append(f"measure write answered {status}")


def stats(latencies: list[float]) -> dict:
    return {
        "n": len(latencies),
        "p50_ms": round(percentile(latencies, 0.5), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "p99_ms": round(percentile(latencies, 0.99), 1),
        "max_ms": round(max(latencies), 1) if latencies else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.mixed_load", description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--duration", type=int, default=300, help="seconds of load (from the first login)")
    parser.add_argument("--ramp", type=int, default=30, help="seconds over which the users start")
    parser.add_argument("--think", type=float, nargs=2, default=[2.0, 6.0], metavar=("MIN", "MAX"))
    parser.add_argument("--workers", type=int, default=5, help="gunicorn sync workers")
    parser.add_argument("--seed", type=int, default=20261122)
    options = parser.parse_args(argv)

    log(f"database {SITE.db_name}: reset, demo personas, {options.users} patients")
    SITE.reset_database()
    people = SITE.shell_json(SEED, str(options.users), PASSWORD)
    measures_before = SITE.shell_json(COUNT)
    recorder = Recorder()
    with SITE.gunicorn(workers=options.workers) as server:
        log(f"{options.users} users for {options.duration} s (ramp {options.ramp} s, think {options.think} s)")
        start = time.time() + 1
        stop = start + options.duration
        threads = [
            SimulatedPatient(
                person,
                recorder=recorder,
                start_at=start + options.ramp * index / len(people),
                stop_at=stop,
                think=options.think,
                seed=options.seed + index,
            )
            for index, person in enumerate(people)
        ]
        with measured(server) as facts:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=max(1.0, stop - time.time() + 60))
        stuck = sum(thread.is_alive() for thread in threads)
        server_log_errors = server.errors_in_log()
    measures_after = SITE.shell_json(COUNT)

    requests = recorder.requests
    by_kind: dict[str, list[float]] = collections.defaultdict(list)
    for kind, _, ms, _ in requests:
        by_kind[kind].append(ms)
    statuses = collections.Counter(status for _, status, _, _ in requests)
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    no_answer = statuses.get(0, 0)
    unexpected = {str(s): n for s, n in statuses.items() if s not in (200, 302)}
    everything = stats([ms for _, _, ms, _ in requests])
    without_password = stats([ms for kind, _, ms, _ in requests if kind != "login password"])
    steady = [ms for kind, _, ms, end in requests if not kind.startswith("login") and end > start + options.ramp]
    written = measures_after - measures_before
    lost = recorder.writes_ok - written
    cpu_ms = 1000 * facts["server_cpu_s"] / max(len(requests), 1)
    rate = len(requests) / facts["wall_s"]
    load = f"{facts['load']['loadavg1_min']}–{facts['load']['loadavg1_max']}"
    rows = [
        {
            "name": f"{options.users} users, {options.duration} s",
            "figure": f"{len(requests)} requests ({rate:.1f}/s), {cpu_ms:.1f} server CPU ms/request; "
            f"logins {recorder.logins_ok} ok / {recorder.logins_failed} failed",
            "baseline": "-",
            "target": "(information)",
            "result": "-",
            "load": load,
        },
        {
            "name": "server errors",
            "figure": f"{server_errors} 5xx, {no_answer} without answer, other statuses {unexpected or 'none'}",
            "baseline": "-",
            "target": "0",
            "result": verdict(server_errors == 0 and no_answer == 0),
            "load": load,
        },
        {
            "name": "latency",
            "figure": f"p99 {everything['p99_ms']} ms all; {without_password['p99_ms']} ms without the password "
            f"step; {stats(steady)['p99_ms']} ms after the ramp, logins excluded",
            "baseline": f"p50 {everything['p50_ms']} ms",
            "target": f"p99 <= {TARGETS['p99_ms']} ms",
            "result": verdict(everything["p99_ms"] <= TARGETS["p99_ms"]),
            "load": load,
        },
        {
            "name": "writes (measures)",
            "figure": f"{recorder.writes_ok} acknowledged, {written} rows added, {recorder.writes_failed} refused",
            "baseline": "-",
            "target": "rows = acknowledged",
            "result": verdict(lost == 0),
            "load": "",
        },
    ]
    path = write_result(
        "mixed-load",
        {
            "options": vars(options),
            "requests": len(requests),
            "statuses": {str(k): v for k, v in statuses.items()},
            "latency_all": everything,
            "latency_without_password_step": without_password,
            "latency_steady_no_login": stats(steady),
            "by_kind": {kind: stats(values) for kind, values in sorted(by_kind.items())},
            "writes": {"acknowledged": recorder.writes_ok, "rows_added": written, "refused": recorder.writes_failed},
            "logins": {"ok": recorder.logins_ok, "failed": recorder.logins_failed},
            "threads_still_running": stuck,
            "problems": recorder.problems[:50],
            "server_errors_logged": server_log_errors[:20],
            **facts,
            "table": rows,
        },
    )
    print_rows(rows)
    print()
    for kind, values in sorted(by_kind.items()):
        s = stats(values)
        print(f"  {kind:<16} n={s['n']:<6} p50 {s['p50_ms']:>7} ms  p95 {s['p95_ms']:>7} ms  p99 {s['p99_ms']:>7} ms")
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
