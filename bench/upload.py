"""Benchmark: 1 MB PDFs uploaded by 8 patients at once, encrypted at rest; share of the encryption.

    .venv/bin/python -m bench.upload [--duration 15] [--patients 8] [--rounds 2] [--iterations 40]

Two measurements of the same thing, the cost of `EncryptedFileSystemStorage` (AES-256-GCM per file, see
espace_sante/crypto) in an upload request:

1. Over HTTP: gunicorn (4 sync workers, production settings, database `bench_upload`), `--patients`
   patients with an active space, each with a logged-in session; wrk with 8 connections POSTs the upload
   form (multipart: CSRF token, a 1 MiB PDF of random bytes, title, category, date), each request with the
   next patient's session. Alternately (`--rounds` times) with the product as is, and with the baseline
   server `bench.upload:plain_application`: the same application with the encrypted storage's `_save`
   replaced by the plain file system storage's (benchmark-only patch; the file is then written in clear).
   Server CPU seconds per upload from /proc (gunicorn and its workers), which the machine's load moves
   much less than the latency.
2. In process (`--iterations` each, CPU time): the whole upload request through Django's test client (the
   same view, middleware and database), with and without encryption, and `seal_file` alone on the 1 MiB
   file. Encryption share = seal_file / whole request.

Target: encryption <= 5 % of the request time.
"""

import argparse
import os
import sys

from bench.web import SESSION_CODE, Browser, Site, csrf_token, log, measured, print_rows, verdict, write_result, wrk

SITE = Site("upload", port=8895)
TARGET_SHARE = 0.05
FILE_BYTES = 1024 * 1024
VARIANTS = (("encrypted", "espace_sante.wsgi:application"), ("plain", "bench.upload:plain_application"))


def _plain_save(self, name, content):
    from django.core.files.storage import FileSystemStorage

    return FileSystemStorage._save(self, name, content)


def plain_application(environ, start_response):
    """Baseline server: the product with the encrypted storage writing files in clear (benchmark only)."""
    from espace_sante.crypto.storage import EncryptedFileSystemStorage
    from espace_sante.wsgi import application as product

    EncryptedFileSystemStorage._save = _plain_save
    return product(environ, start_response)


SEED = (
    SESSION_CODE
    + """
import json, sys
from accounts.demo import _patient, _space
from accounts.enums import Sex
from accounts.models import EmailOTPDevice
from activation.enums import SpaceStatus

cookies = []
for i in range(int(sys.argv[1])):
    n = f"1850275{i:06d}"
    patient = _patient(nir=n + f"{97 - int(n) % 97:02d}", birth_name=f"Upload{i}", first_names="Jean",
                       birth_date=__import__("datetime").date(1985, 2, 1), sex=Sex.MALE, birth_place="75056",
                       email=f"upload{i}@example.org", username=f"bench.upload{i}")
    _space(patient, SpaceStatus.ACTIVE)
    device, _ = EmailOTPDevice.objects.get_or_create(user=patient.user, defaults={"name": "e-mail", "confirmed": True})
    cookies.append(session_cookie(patient.user, device))
print(json.dumps(cookies))
"""
)

IN_PROCESS = """
import json, resource, sys, time
from django.test import Client
from espace_sante.crypto.aead import seal_file
from espace_sante.crypto.storage import EncryptedFileSystemStorage
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile

path, cookie, iterations = sys.argv[1], sys.argv[2], int(sys.argv[3])
content = open(path, "rb").read()

def cpu():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

def upload(client):
    response = client.post("/documents/ajouter/", {
        "file": SimpleUploadedFile("compte-rendu.pdf", content, "application/pdf"),
        "title": "Compte rendu", "category": "biologie", "care_date": "2026-01-15"})
    assert response.status_code == 302, response.status_code

def timed(function, n):
    function()
    c, w = cpu(), time.perf_counter()
    for _ in range(n):
        function()
    return {"cpu_ms": (cpu() - c) * 1000 / n, "wall_ms": (time.perf_counter() - w) * 1000 / n}

client = Client(HTTP_COOKIE=cookie, HTTP_HOST="127.0.0.1")
result = {}
encrypted_save = EncryptedFileSystemStorage._save
for round_ in range(2):  # alternate, so that a change of load hits both
    EncryptedFileSystemStorage._save = encrypted_save
    result.setdefault("request_encrypted", []).append(timed(lambda: upload(client), iterations))
    EncryptedFileSystemStorage._save = lambda self, name, content: FileSystemStorage._save(self, name, content)
    result.setdefault("request_plain", []).append(timed(lambda: upload(client), iterations))
result["seal_file"] = [timed(lambda: seal_file(content, name="documents/x/y"), iterations * 5)]
print(json.dumps(result))
"""

LUA = r"""
-- args: file with the session cookies (one a line), CSRF cookie, CSRF form token, PDF file
local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

function init(args)
  cookies = {}
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
  csrf_cookie, token = args[2], args[3]
  local handle = io.open(args[4], "rb")
  local pdf = handle:read("*a")
  handle:close()
  boundary = "----benchboundary7MA4YWxkTrZu0gW"
  local parts = {}
  local function field(name, value)
    parts[#parts + 1] = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"" .. name .. "\"\r\n\r\n"
      .. value .. "\r\n"
  end
  field("csrfmiddlewaretoken", token)
  field("title", "Compte rendu")
  field("category", "biologie")
  field("care_date", "2026-01-15")
  parts[#parts + 1] = "--" .. boundary .. "\r\nContent-Disposition: form-data; name=\"file\"; "
    .. "filename=\"compte-rendu.pdf\"\r\nContent-Type: application/pdf\r\n\r\n" .. pdf .. "\r\n"
  parts[#parts + 1] = "--" .. boundary .. "--\r\n"
  body = table.concat(parts)
  next_cookie = thread_id
  stored, other = 0, 0
end

request = function()
  next_cookie = next_cookie % #cookies + 1
  local headers = {
    ["Content-Type"] = "multipart/form-data; boundary=" .. boundary,
    ["Cookie"] = cookies[next_cookie] .. "; " .. csrf_cookie,
  }
  return wrk.format("POST", "/documents/ajouter/", headers, body)
end

response = function(status, headers, body)
  if status == 302 then stored = stored + 1 else other = other + 1 end
end

done = function(summary, latency, requests)
  local s, o = 0, 0
  for _, thread in ipairs(threads) do
    s = s + thread:get("stored")
    o = o + thread:get("other")
  end
  io.write(string.format("counter stored %d\ncounter other %d\n", s, o))
end
"""

COUNT = """
import json
from dossier.models import Document
print(json.dumps(Document.objects.filter(patient__birth_name__startswith="Upload").count()))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.upload", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--patients", type=int, default=8, help="patients uploading at once (= connections)")
    parser.add_argument("--rounds", type=int, default=2, help="encrypted / plain alternations over HTTP")
    parser.add_argument("--iterations", type=int, default=40, help="in-process uploads per variant and round")
    options = parser.parse_args(argv)

    log(f"database {SITE.db_name}: reset, {options.patients} patients with a session")
    SITE.reset_database(seed=False)
    cookies = SITE.shell_json(SEED, str(options.patients))
    cookie_file = SITE.work_dir / "cookies.txt"
    cookie_file.write_text("\n".join(cookies) + "\n")
    pdf = SITE.work_dir / "document.pdf"
    pdf.write_bytes(b"%PDF-1.7\n" + os.urandom(FILE_BYTES - 16) + b"\n%%EOF\n")
    script = SITE.work_dir / "upload.lua"
    script.write_text(LUA)

    log(f"in process: {options.iterations} uploads per variant and round, and seal_file alone")
    with measured() as in_process_facts:
        in_process = SITE.shell_json(IN_PROCESS, str(pdf), cookies[0], str(options.iterations))

    runs: list[dict] = []
    for round_ in range(options.rounds):
        for variant, app in (
            ("encrypted", "espace_sante.wsgi:application"),
            ("plain", "bench.upload:plain_application"),
        ):
            with SITE.gunicorn(workers=4, app=app) as server:
                browser = Browser(SITE.port, headers={"Cookie": cookies[0]})
                status, _, page = browser.get("/documents/ajouter/")
                assert status == 200, status
                token = csrf_token(page)
                csrf_cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
                log(f"round {round_ + 1}: {variant}, {options.patients} connections")
                with measured(server) as facts:
                    result = wrk(
                        SITE.url("/documents/ajouter/"),
                        duration=options.duration,
                        connections=options.patients,
                        script=script,
                        script_args=[str(cookie_file), csrf_cookie, token, str(pdf)],
                    )
                result.update(facts, variant=variant, round=round_ + 1, errors_logged=server.errors_in_log()[:5])
                result["server_cpu_ms_per_upload"] = round(
                    1000 * facts["server_cpu_s"] / max(result["requests"], 1), 2
                )
                runs.append(result)
    stored = SITE.shell_json(COUNT)

    def mean(values: list[float]) -> float:
        return sum(values) / len(values)

    enc_cpu = mean([r["cpu_ms"] for r in in_process["request_encrypted"]])
    plain_cpu = mean([r["cpu_ms"] for r in in_process["request_plain"]])
    seal_cpu = in_process["seal_file"][0]["cpu_ms"]
    share_seal = seal_cpu / enc_cpu
    share_diff = (enc_cpu - plain_cpu) / enc_cpu
    http = {v: [r for r in runs if r["variant"] == v] for v in ("encrypted", "plain")}
    http_enc = mean([r["server_cpu_ms_per_upload"] for r in http["encrypted"]])
    http_plain = mean([r["server_cpu_ms_per_upload"] for r in http["plain"]])
    http_share = (http_enc - http_plain) / http_enc
    uploads_ok = sum(r["counters"]["stored"] for r in runs)
    uploads_failed = sum(r["counters"]["other"] + r["socket_errors"] for r in runs)
    rows = [
        {
            "name": "in process: seal_file / whole upload (CPU)",
            "figure": f"{share_seal:.1%} ({seal_cpu:.2f} of {enc_cpu:.1f} CPU ms); "
            f"with - without encryption: {share_diff:.1%}",
            "baseline": f"upload without encryption {plain_cpu:.1f} CPU ms",
            "target": f"<= {TARGET_SHARE:.0%}",
            "result": verdict(share_seal <= TARGET_SHARE),
            "load": f"{in_process_facts['load']['loadavg1_min']}–{in_process_facts['load']['loadavg1_max']}",
        },
        *(
            {
                "name": f"HTTP round {r['round']}, {r['variant']}, {options.patients} patients",
                "figure": f"{r['rps']:.1f} uploads/s, p50 {r['p50_ms']} ms, p99 {r['p99_ms']} ms, "
                f"{r['server_cpu_ms_per_upload']} server CPU ms/upload",
                "baseline": "",
                "target": "",
                "result": "",
                "load": f"{r['load']['loadavg1_min']}–{r['load']['loadavg1_max']}",
            }
            for r in runs
        ),
        {
            "name": "HTTP: encryption share of server CPU",
            "figure": f"{http_share:.1%} ({http_enc:.1f} vs {http_plain:.1f} CPU ms/upload); "
            f"{uploads_ok} uploads stored, {uploads_failed} failed; {stored} documents in the database",
            "baseline": f"plain storage {http_plain:.1f} CPU ms/upload",
            "target": f"<= {TARGET_SHARE:.0%}",
            "result": verdict(http_share <= TARGET_SHARE and uploads_failed == 0 and stored >= uploads_ok),
            "load": "",
        },
    ]
    path = write_result(
        "upload",
        {
            "options": vars(options),
            "file_bytes": FILE_BYTES,
            "in_process": in_process,
            "in_process_load": in_process_facts["load"],
            "http": runs,
            "documents_in_database": stored,
            "table": rows,
        },
    )
    print_rows(rows)
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
