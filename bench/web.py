"""Shared pieces of the web benchmarks: a database of their own, production settings, gunicorn, wrk, load.

Each benchmark is a `Site`: database `bench_<name>` on the local PostgreSQL, its own Redis cache prefix and
media folder, throw-away keys, `espace_sante.settings.base` (DEBUG off, cached templates, sessions in Redis
written through to PostgreSQL). Django work (seeding, in-process timings) runs in subprocesses
(`Site.shell`), so the benchmark process itself never imports the product and can drive gunicorn, wrk and
Celery workers from the outside.

Load: the machine is shared. `LoadSampler` samples the load average every second during a measurement and
the busy cores from /proc/stat; `process_tree_cpu` gives the CPU seconds of a server and its workers, which
(per request) does not move with the load the way wall-clock figures do.
"""

import base64
import contextlib
import datetime
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from espace_sante.settings._fixed_keys import throwaway_rsa_key

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SERVER = os.environ.get("BENCH_SERVER_URL", "postgres://postgres@127.0.0.1:5432")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
# Tasks the servers queue (e-mail delivery, receipts) go to this Redis database, never to the default one
# that real workers of other sessions may consume; the benchmarks delete what they leave there.
BROKER_DB = 14
KEYS = {
    "SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
    "DATA_ENCRYPTION_KEYS": "b1:" + base64.b64encode(b"b" * 32).decode(),
    "CODE_HASH_KEY": base64.b64encode(b"c" * 32).decode(),
    "OIDC_RSA_PRIVATE_KEY": throwaway_rsa_key(),
}
PRODUCTION_SETTINGS = "espace_sante.settings.base"
GUNICORN = str(ROOT / ".venv" / "bin" / "gunicorn")
STATIC_ROOT = Path("/tmp/bench-web-static")  # noqa: S108


def log(message: str) -> None:
    sys.stderr.write(f"[bench {datetime.datetime.now(datetime.UTC):%H:%M:%S}Z] {message}\n")
    sys.stderr.flush()


def broker_url() -> str:
    return re.sub(r"/\d*$", f"/{BROKER_DB}", REDIS_URL)


def purge_broker(*queues: str) -> None:
    """Drop the tasks the benchmark's servers or workers queued in the bench broker database (nobody runs them)."""
    import redis

    client = redis.Redis.from_url(broker_url())
    client.delete(*(queues or ("celery",)))
    client.close()


@dataclass(frozen=True)
class Site:
    """One benchmark's database, cache prefix, media folder and port."""

    name: str
    port: int = 8899

    @property
    def db_name(self) -> str:
        return f"bench_{self.name}"

    @property
    def cache_prefix(self) -> str:
        return f"mes-bench-{self.name}"

    @property
    def media_root(self) -> Path:
        return Path(f"/tmp/bench-{self.name}-media")  # noqa: S108

    @property
    def work_dir(self) -> Path:
        path = Path(f"/tmp/bench-{self.name}")  # noqa: S108
        path.mkdir(parents=True, exist_ok=True)
        return path

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def env(self, settings_module: str = PRODUCTION_SETTINGS, **extra: str) -> dict:
        return {
            **os.environ,
            **KEYS,
            "DJANGO_SETTINGS_MODULE": settings_module,
            "DATABASE_URL": f"{SERVER}/{self.db_name}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "SECURE_SSL_REDIRECT": "false",
            "CACHE_KEY_PREFIX": self.cache_prefix,
            "CELERY_BROKER_URL": broker_url(),
            "MEDIA_ROOT": str(self.media_root),
            "STATIC_ROOT": str(STATIC_ROOT),  # collected once per reset, outside the checkout
            "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",  # nothing leaves the machine
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
            **extra,
        }

    def manage(self, *args: str, settings_module: str = PRODUCTION_SETTINGS) -> None:
        subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=self.env(settings_module), check=True)

    def reset_database(self, *, seed: bool = True, static: bool = True) -> None:
        """Drop and create the database, migrate, the demo personas; empty the media folder and the cache."""
        import psycopg

        with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as connection:
            connection.execute(f"DROP DATABASE IF EXISTS {self.db_name} WITH (FORCE)")
            connection.execute(f"CREATE DATABASE {self.db_name}")
        shutil.rmtree(self.media_root, ignore_errors=True)
        self.flush_cache()
        self.manage("migrate", "--noinput", "-v0")
        if seed:
            self.manage("demo_seed")
        if static:
            self.manage("collectstatic", "--noinput", "-v0")

    def flush_cache(self) -> int:
        """Delete this site's keys in the Redis cache (throttle counters, sessions); never anyone else's."""
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{self.cache_prefix}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()
        return len(keys)

    def shell(self, code: str, *args: str, timeout: int = 3600, **extra_env: str) -> str:
        """Run `code` after django.setup() under the site's settings; its stdout (last line: the result)."""
        result = subprocess.run(  # noqa: S603
            [sys.executable, "-c", f"import django; django.setup()\n{code}", *args],
            cwd=ROOT,
            env=self.env(**extra_env),
            check=False,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode:
            sys.stderr.write(result.stderr[-5000:])
            raise subprocess.CalledProcessError(result.returncode, "shell snippet", result.stdout, result.stderr)
        return result.stdout

    def shell_json(self, code: str, *args: str, timeout: int = 3600, **extra_env: str):
        """`shell` whose last line of output is JSON."""
        return json.loads(self.shell(code, *args, timeout=timeout, **extra_env).strip().splitlines()[-1])

    @contextlib.contextmanager
    def gunicorn(
        self, *, workers: int = 4, app: str = "espace_sante.wsgi:application", **extra_env: str
    ) -> Iterator["Server"]:
        """gunicorn (sync workers) on 127.0.0.1:port under the production settings; stopped afterwards."""
        log_path = self.work_dir / "gunicorn.log"
        with open(log_path, "wb") as log_file:
            process = subprocess.Popen(  # noqa: S603
                [GUNICORN, app, "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--log-level", "warning"],
                cwd=ROOT,
                env=self.env(**extra_env),
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        try:
            wait_for_port(self.port, timeout=60, process=process)
            server = Server(process=process, log=log_path)
            server.wait_for_workers(workers)
            self.warm_up(workers)
            yield server
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
            purge_broker()  # e-mail deliveries the pages queued

    def warm_up(self, workers: int) -> None:
        """Concurrent requests until every worker has answered a few: the application, templates and
        connections are loaded before anything is measured."""

        def hit() -> None:
            for _ in range(5):
                with contextlib.suppress(OSError):
                    Browser(self.port, timeout=60).get("/")

        threads = [threading.Thread(target=hit) for _ in range(workers * 2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


@dataclass
class Server:
    process: subprocess.Popen
    log: Path

    def cpu_seconds(self) -> float:
        return process_tree_cpu(self.process.pid)

    def wait_for_workers(self, count: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(children(self.process.pid)) < count:
            time.sleep(0.2)
        time.sleep(1)  # let them import the application

    def errors_in_log(self) -> list[str]:
        text = self.log.read_text(errors="replace")
        return [line for line in text.splitlines() if '"level": "ERROR"' in line or "Traceback" in line]


def wait_for_port(port: int, *, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on port {port} after {timeout} s")


# --- CPU and load ----------------------------------------------------------------------------------------
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rindex(")") + 2 :].split()  # fields from "state" on (the name may contain spaces)


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (fields := _stat(int(entry.name))) and int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def process_tree_cpu(pid: int) -> float:
    """User + system CPU seconds of `pid` and its living descendants (and of the children they reaped)."""
    total = 0.0
    pending = [pid]
    while pending:
        current = pending.pop()
        fields = _stat(current)
        if fields is None:
            continue
        # utime, stime, cutime, cstime are fields 14-17 of /proc/pid/stat, i.e. 11-14 from "state"
        total += sum(int(x) for x in fields[11:15]) / TICKS
        pending.extend(children(current))
    return total


def cpu_busy() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    with open("/proc/stat") as handle:
        fields = [int(x) for x in handle.readline().split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


@dataclass
class LoadSampler:
    """Load average sampled every second while a measurement runs; busy cores from /proc/stat (ours too)."""

    samples: list[float] = field(default_factory=list)
    busy_cores: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> "LoadSampler":
        self._busy = cpu_busy()
        self.samples.append(os.getloadavg()[0])
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            self.samples.append(os.getloadavg()[0])

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append(os.getloadavg()[0])
        busy, total = cpu_busy()
        self.busy_cores = round((os.cpu_count() or 1) * (busy - self._busy[0]) / max(total - self._busy[1], 1), 2)

    def as_dict(self) -> dict:
        return {
            "loadavg1_min": round(min(self.samples), 2),
            "loadavg1_max": round(max(self.samples), 2),
            "loadavg1_mean": round(sum(self.samples) / len(self.samples), 2),
            "busy_cores": self.busy_cores,
        }

    def label(self) -> str:
        return f"{min(self.samples):.1f}–{max(self.samples):.1f}"


@contextlib.contextmanager
def measured(server: Server | None = None) -> Iterator[dict]:
    """Load and server CPU seconds around a block: `with measured(server) as facts: ...` then facts filled."""
    facts: dict = {}
    cpu_before = server.cpu_seconds() if server else 0.0
    started = time.perf_counter()
    with LoadSampler() as sampler:
        yield facts
    facts["wall_s"] = round(time.perf_counter() - started, 3)
    facts["load"] = sampler.as_dict()
    if server:
        facts["server_cpu_s"] = round(server.cpu_seconds() - cpu_before, 3)


# --- wrk -------------------------------------------------------------------------------------------------
def wrk(
    url: str,
    *,
    duration: int,
    connections: int,
    threads: int = 2,
    headers: dict[str, str] | None = None,
    script: Path | None = None,
    script_args: list[str] | None = None,
) -> dict:
    """wrk from loopback, bounded in time; requests/s, latency percentiles, errors; counters printed by the
    script's done() as `counter name value` lines."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install -y wrk (or make bench, which installs it)")
    threads = min(threads, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        command += ["-H", f"{name}: {value}"]
    if script:
        command += ["-s", str(script)]
    command.append(url)
    if script_args:
        command += ["--", *script_args]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration + 60).stdout
    return parse_wrk(output)


def parse_wrk(output: str) -> dict:
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    requests = int(re.search(r"(\d+) requests in", output).group(1))

    def latency(percentile: str) -> float:
        value, unit = re.search(rf"\s{percentile}%\s+([\d.]+)(us|ms|s)", output).groups()
        return round(float(value) * {"us": 0.001, "ms": 1, "s": 1000}[unit], 2)

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    counters = {name: int(value) for name, value in re.findall(r"^counter (\w+) (\d+)$", output, re.MULTILINE)}
    return {
        "rps": rate,
        "requests": requests,
        "p50_ms": latency("50"),
        "p90_ms": latency("90"),
        "p99_ms": latency("99"),
        "non_2xx_3xx": int(non_2xx.group(1)) if non_2xx else 0,
        "socket_errors": sum(map(int, socket_errors.groups())) if socket_errors else 0,
        **({"counters": counters} if counters else {}),
    }


# --- HTTP from Python (cookies by hand: the portal's cookies are __Host- and Secure, on plain http here) ---
class Browser:
    """A minimal HTTP client for one simulated person: its own cookies, no redirects followed."""

    def __init__(self, port: int, *, headers: dict[str, str] | None = None, timeout: float = 30) -> None:
        self.port = port
        self.cookies: dict[str, str] = {}
        self.headers = headers or {}
        self.timeout = timeout

    def request(self, method: str, path: str, *, form: dict | None = None, body: bytes | None = None,
                content_type: str | None = None) -> tuple[int, dict, bytes]:  # fmt: skip
        import http.client
        from urllib.parse import urlencode

        headers = {"Host": "127.0.0.1", **self.headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urlencode(form).encode()
            content_type = "application/x-www-form-urlencoded"
        if content_type:
            headers["Content-Type"] = content_type
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            for name, value in response.getheaders():
                if name.lower() == "set-cookie":
                    pair = value.split(";", 1)[0]
                    key, _, val = pair.partition("=")
                    if val and "max-age=0" not in value.lower():
                        self.cookies[key.strip()] = val.strip()
                    else:
                        self.cookies.pop(key.strip(), None)
            return response.status, {k.lower(): v for k, v in response.getheaders()}, data
        finally:
            connection.close()

    def get(self, path: str) -> tuple[int, dict, bytes]:
        return self.request("GET", path)

    def post(self, path: str, form: dict) -> tuple[int, dict, bytes]:
        return self.request("POST", path, form=form)


CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')


def csrf_token(page: bytes) -> str:
    found = CSRF_FIELD.search(page)
    if not found:
        raise ValueError("no CSRF token in the page")
    return found.group(1).decode()


# --- Session cookies made in advance ---------------------------------------------------------------------
# Python code for Site.shell: defines session_cookie(user, device) -> "name=value", an authenticated session
# that passed its second factor (what the two login steps leave), stored through the production engine.
SESSION_CODE = """
import time as _time
from importlib import import_module as _import_module
from django.conf import settings as _settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from espace_sante.access.middleware import SESSION_LOGIN_AT

def session_cookie(user, device):
    store = _import_module(_settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store["otp_device_id"] = device.persistent_id
    store[SESSION_LOGIN_AT] = _time.time()
    store.set_expiry(24 * 3600)
    store.save()
    return _settings.SESSION_COOKIE_NAME + "=" + store.session_key
"""


# --- Results ---------------------------------------------------------------------------------------------
def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def write_result(kind: str, data: dict) -> Path:
    """bench/results/<date>-<kind>-<4 hex>.json (git-ignored), with the machine and the date."""
    RESULTS.mkdir(exist_ok=True)
    now = datetime.datetime.now(datetime.UTC)
    report = {
        "benchmark": kind,
        "date": now.isoformat(timespec="seconds"),
        "machine": {"nproc": os.cpu_count(), "loadavg_at_end": [round(x, 2) for x in os.getloadavg()]},
        **data,
    }
    path = RESULTS / f"{now:%Y%m%d-%H%M%S}-{kind}-{uuid.uuid4().hex[:4]}.json"
    path.write_text(json.dumps(report, indent=1, ensure_ascii=False, default=str))
    return path


def print_rows(rows: list[dict]) -> None:
    """rows: name, figure, baseline, target, result (strings); printed as an aligned table."""
    header = {"name": "benchmark", "figure": "figure", "baseline": "baseline (same run)", "target": "target",
              "result": "result", "load": "load avg"}  # fmt: skip
    columns = list(header)
    lines = [header, *({c: str(r.get(c, "")) for c in columns} for r in rows)]
    widths = {c: max(len(line[c]) for line in lines) for c in columns}
    for number, line in enumerate(lines):
        print("  ".join(line[c].ljust(widths[c]) for c in columns))
        if number == 0:
            print("  ".join("-" * widths[c] for c in columns))


def verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"
