"""Benchmark: wrong provisional codes posted to /activation/ under load, and the throttle's limits.

    .venv/bin/python -m bench.activation_load [--duration 15] [--connections 8 32] [--stored 20000]

gunicorn (4 sync workers, production settings, database `bench_activation`, the demo personas plus
`--stored` people with a provisional code each). wrk (loopback, 2 threads) POSTs the identification form
with a CSRF cookie and token and a random code (Crockford, 16 characters), a random valid NIR (key
97 - n mod 97), a card model and a serial, at each connection count:

- `lookups`: every request from another client address and another NIR, so none is throttled: each one is
  a real lookup (code HMAC, indexed query, throttle counters, audit row);
- `throttled (address)`: one client address (new for each run), random NIRs: after the address's 10 free
  attempts every answer is "Trop de tentatives";
- `throttled (NIR)`: random addresses, one NIR (new for each run): 5 free attempts;
- baselines through the same middleware: the anonymous home page, and GET /activation/ (the same form,
  no lookup).

Client addresses: every request comes from 127.0.0.1, so wrk sends each request's client address in
X-Forwarded-For, as the reverse proxy in front does, and gunicorn runs with TRUSTED_PROXY_HOPS=1
(espace_sante/lib/client_address.py takes the last entry). Nothing else differs from production.

Server side, after each throttled run: the attempts admitted for the address (audit rows
`activation.code.check_failed` from that address, and the non-throttled answers) or for the NIR (the
non-throttled answers), against the limit (free attempts, plus one per delay that expired during the run).
The throttle's Redis counter counts every attempt, refused ones included, and is reported as such.

In process: 100,000 random codes normalised, hashed and looked up exactly as `code_identify` does (the
HMAC, then `code_hash` equality, in batches of 5,000 with `= ANY`) against the stored codes, with 10
known codes mixed in as a positive control: 0 hits expected besides the 10.

Targets (2 cores): lookups >= 400 req/s with p99 <= 50 ms; throttled answers >= 1,000 req/s;
0 successes over 100,000 random codes; never more admitted than the limit.
"""

import argparse
import sys

from bench.web import Browser, Site, csrf_token, log, measured, print_rows, verdict, write_result, wrk

SITE = Site("activation", port=8896)
TARGETS = {"lookups_rps": 400, "lookups_p99_ms": 50, "throttled_rps": 1000, "random_codes": 100_000}
FREE = {"address": 10, "nir": 5}  # activation.services.enrolment BY_ADDRESS / BY_NIR
BASE_DELAY_S = 30


LUA = r"""
-- args: mode (random | fixed-address | fixed-nir), fixed value, CSRF cookie header, CSRF form token
local alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("thread_id", counter)
  table.insert(threads, thread)
end

function init(args)
  mode, fixed, cookie, token = args[1], args[2], args[3], args[4]
  math.randomseed(os.time() * 7919 + thread_id * 104729)
  ok, throttled, mismatch, other = 0, 0, 0, 0
end

local function random_code()
  local t = {}
  for i = 1, 16 do
    local k = math.random(1, 32)
    t[#t + 1] = alphabet:sub(k, k)
    if i % 4 == 0 and i < 16 then t[#t + 1] = "-" end
  end
  return table.concat(t)
end

local function random_nir()
  local n = string.format("%d%02d%02d75%03d%03d", math.random(1, 2), math.random(0, 99), math.random(1, 12),
    math.random(0, 999), math.random(0, 999))
  local r = 0
  for i = 1, #n do r = (r * 10 + tonumber(n:sub(i, i))) % 97 end
  return n .. string.format("%02d", 97 - r)
end

local function random_address()
  return string.format("10.%d.%d.%d", math.random(0, 255), math.random(0, 255), math.random(1, 254))
end

request = function()
  local address = (mode == "fixed-address") and fixed or random_address()
  local nir = (mode == "fixed-nir") and fixed or random_nir()
  local body = "csrfmiddlewaretoken=" .. token .. "&code=" .. random_code() .. "&nir=" .. nir ..
    "&card_type=avec_photo&serial=" .. string.format("%011d", math.random(0, 99999999999))
  local headers = {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
    ["X-Forwarded-For"] = address,
  }
  return wrk.format("POST", "/activation/", headers, body)
end

response = function(status, headers, body)
  if status == 302 then
    ok = ok + 1
  elseif status == 200 and body:find("Trop de tentatives", 1, true) then
    throttled = throttled + 1
  elseif status == 200 and body:find("ne permettent pas de vous identifier", 1, true) then
    mismatch = mismatch + 1
  else
    other = other + 1
  end
end

done = function(summary, latency, requests)
  local totals = {ok = 0, throttled = 0, mismatch = 0, other = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do totals[name] = totals[name] + thread:get(name) end
  end
  for name, value in pairs(totals) do io.write(string.format("counter %s %d\n", name, value)) end
end
"""

SEED = """
import datetime, json, sys
from django.db import transaction
from accounts.models import Patient
from activation import codes
from activation.enums import CodeChannel
from activation.models import CODE_VALIDITY, ProvisionalCode

count = int(sys.argv[1])
now = datetime.datetime.now(datetime.UTC)
hasher = codes.code_hasher()
with transaction.atomic():
    patients = Patient.objects.bulk_create(
        (
            Patient(
                nir=(n := f"1{60 + i % 40:02d}{1 + i % 12:02d}31{i:06d}") + f"{97 - int(n) % 97:02d}",
                birth_name=f"Martin{i}", first_names="Paul", birth_date=datetime.date(1960 + i % 40, 1, 1),
                sex="M", birth_place_insee="31555", vitale_card_type="avec_photo", vitale_serial=f"{i:011d}",
            )
            for i in range(count)
        ),
        batch_size=5000,
    )
    ProvisionalCode.objects.bulk_create(
        (
            ProvisionalCode(patient=p, code_hash=hasher(code), channel=CodeChannel.values[0],
                            expires_at=now + CODE_VALIDITY)
            for p, code in zip(patients, codes.generate_many(count))
        ),
        batch_size=5000,
    )
print(json.dumps(ProvisionalCode.objects.count()))
"""

RANDOM_CODES = """
import datetime, json, secrets, sys, time
from django.db import connection
from accounts.models import Patient
from activation import codes
from activation.enums import CodeChannel
from activation.models import CODE_VALIDITY, ProvisionalCode

total = int(sys.argv[1])
controls = codes.generate_many(10)
holder = Patient.objects.order_by("pk").first()
now = datetime.datetime.now(datetime.UTC)
ProvisionalCode.objects.bulk_create(
    ProvisionalCode(patient=holder, code_hash=codes.code_hash(c), channel=CodeChannel.values[0],
                    expires_at=now + CODE_VALIDITY)
    for c in controls
)
stored = ProvisionalCode.objects.count()
# Random 16-character strings in the codes' alphabet, typed as people do (dashes, lower case).
typed = ["-".join(c[i:i + 4] for i in range(0, 16, 4)).lower()
         for c in ("".join(secrets.choice(codes.ALPHABET) for _ in range(16)) for _ in range(total))]
typed += [codes.display(c) for c in controls]
started = time.perf_counter()
hits, control_hits, invalid = 0, 0, 0
control_hashes = {codes.code_hash(c) for c in controls}
batch = []
def flush():
    global hits, control_hits
    with connection.cursor() as cursor:
        cursor.execute("SELECT code_hash FROM activation_provisionalcode WHERE code_hash = ANY(%s)", [batch])
        for (found,) in cursor.fetchall():
            if found in control_hashes:
                control_hits += 1
            else:
                hits += 1
    batch.clear()
for raw in typed:
    compact = codes.normalize(raw)
    if compact is None:
        invalid += 1
        continue
    batch.append(codes.code_hash(compact))
    if len(batch) == 5000:
        flush()
if batch:
    flush()
elapsed = time.perf_counter() - started
print(json.dumps({"random_codes": total, "stored_codes": stored, "hits": hits, "control_hits": control_hits,
                  "invalid": invalid, "elapsed_s": round(elapsed, 2)}))
"""

ADMITTED = """
import json, sys
from django.core.cache import cache
from activation.services.enrolment import BY_ADDRESS, BY_NIR
from espace_sante.audit.models import AuditEvent
kind, value = sys.argv[1], sys.argv[2]
throttle = BY_ADDRESS if kind == "address" else BY_NIR
counter = cache.get(throttle._keys(value)[0]) or 0
audit = (AuditEvent.objects.filter(action="activation.code.check_failed", ip_address=value).count()
         if kind == "address" else None)
total_audit = AuditEvent.objects.filter(action="activation.code.check_failed").count()
print(json.dumps({"counter": counter, "audit_rows": audit, "total_check_failed": total_audit}))
"""


def allowed(kind: str, duration: float) -> int:
    """Free attempts plus one per growing delay (30 s, 60 s, …) that can expire within the run."""
    limit, elapsed, delay = FREE[kind], 0.0, BASE_DELAY_S
    while elapsed + delay <= duration:
        elapsed += delay
        delay *= 2
        limit += 1
    return limit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.activation_load", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, nargs="+", default=[8, 32])
    parser.add_argument("--stored", type=int, default=20_000, help="people with a provisional code")
    parser.add_argument("--random-codes", type=int, default=TARGETS["random_codes"])
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    options = parser.parse_args(argv)

    log(f"database {SITE.db_name}: reset, demo personas, {options.stored} stored codes")
    SITE.reset_database()
    SITE.shell_json(SEED, str(options.stored))
    script = SITE.work_dir / "activation.lua"
    script.write_text(LUA)
    runs: dict[str, dict] = {}
    admitted: dict[str, dict] = {}
    with SITE.gunicorn(workers=options.workers, TRUSTED_PROXY_HOPS="1") as server:
        browser = Browser(SITE.port)
        status, _, page = browser.get("/activation/")
        assert status == 200, status
        token = csrf_token(page)
        cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        for connections in options.connections:
            for name, path in (("baseline home", "/"), ("baseline form (GET /activation/)", "/activation/")):
                log(f"{name}, {connections} connections")
                with measured(server) as facts:
                    result = wrk(SITE.url(path), duration=options.duration, connections=connections)
                runs[f"{name} @{connections}"] = {**result, **facts, "connections": connections}
            for name, mode, fixed in (
                ("lookups", "random", "-"),
                ("throttled (address)", "fixed-address", f"192.0.2.{connections}"),
                ("throttled (NIR)", "fixed-nir", "2" + f"{connections:02d}0375000001"),
            ):
                if mode == "fixed-nir":
                    n = fixed[:13]
                    fixed = n + f"{97 - int(n) % 97:02d}"
                log(f"{name}, {connections} connections")
                with measured(server) as facts:
                    result = wrk(
                        SITE.url("/activation/"),
                        duration=options.duration,
                        connections=connections,
                        script=script,
                        script_args=[mode, fixed, cookie, token],
                    )
                runs[f"{name} @{connections}"] = {**result, **facts, "connections": connections}
                if mode != "random":
                    kind = "address" if mode == "fixed-address" else "nir"
                    counts = SITE.shell_json(ADMITTED, kind, fixed)
                    counts["limit"] = allowed(kind, facts["wall_s"])
                    counts["answers_not_throttled"] = result["counters"]["mismatch"] + result["counters"]["ok"]
                    admitted[f"{name} @{connections}"] = counts
        server_errors = server.errors_in_log()
    log(f"in process: {options.random_codes:,} random codes against the stored ones")
    with measured() as random_facts:
        random_codes = SITE.shell_json(RANDOM_CODES, str(options.random_codes))
    random_codes["load"] = random_facts["load"]

    rows = []
    for connections in options.connections:
        home = runs[f"baseline home @{connections}"]
        form = runs[f"baseline form (GET /activation/) @{connections}"]
        lookups = runs[f"lookups @{connections}"]
        baseline = f"home {home['rps']:.0f} req/s p99 {home['p99_ms']} ms; form {form['rps']:.0f} req/s"
        counters = lookups["counters"]
        ok = (
            lookups["rps"] >= TARGETS["lookups_rps"]
            and lookups["p99_ms"] <= TARGETS["lookups_p99_ms"]
            and counters["throttled"] == 0
            and counters["other"] == 0
        )
        cpu_ms = 1000 * lookups["server_cpu_s"] / max(lookups["requests"], 1)
        home_cpu_ms = 1000 * home["server_cpu_s"] / max(home["requests"], 1)
        rows.append(
            {
                "name": f"lookups @{connections}",
                "figure": f"{lookups['rps']:.0f} req/s, p99 {lookups['p99_ms']} ms, {cpu_ms:.1f} server CPU ms/req "
                f"({counters['mismatch']} mismatch, {counters['throttled']} throttled, {counters['other']} other)",
                "baseline": baseline + f"; home {home_cpu_ms:.1f} CPU ms/req",
                "target": f">= {TARGETS['lookups_rps']} req/s, p99 <= {TARGETS['lookups_p99_ms']} ms",
                "result": verdict(ok),
                "load": f"{lookups['load']['loadavg1_min']}–{lookups['load']['loadavg1_max']}",
            }
        )
        for kind in ("address", "NIR"):
            name = f"throttled ({kind}) @{connections}"
            run, counts = runs[name], admitted[name]
            # Since Throttle.admit() the Redis counter counts every attempt, refused ones included: what was
            # admitted is what the server answered without throttling (audit rows for an address, and the
            # answers the clients saw, which are the server's own answers).
            admitted_server = max(counts["audit_rows"] or 0, counts["answers_not_throttled"])
            cpu_ms = 1000 * run["server_cpu_s"] / max(run["requests"], 1)
            rows.append(
                {
                    "name": name,
                    "figure": f"{run['rps']:.0f} req/s, p99 {run['p99_ms']} ms, {cpu_ms:.1f} server CPU ms/req; "
                    f"admitted {admitted_server} ("
                    + (f"audit {counts['audit_rows']}, " if counts["audit_rows"] is not None else "")
                    + f"client saw {counts['answers_not_throttled']}; attempts counted {counts['counter']})"
                    + f" / limit {counts['limit']}",
                    "baseline": baseline,
                    "target": f">= {TARGETS['throttled_rps']} req/s; admitted <= limit",
                    "result": verdict(run["rps"] >= TARGETS["throttled_rps"] and admitted_server <= counts["limit"]),
                    "load": f"{run['load']['loadavg1_min']}–{run['load']['loadavg1_max']}",
                }
            )
    successes = sum(run.get("counters", {}).get("ok", 0) for run in runs.values())
    rows.append(
        {
            "name": "random codes (in process)",
            "figure": f"{random_codes['hits']} hits over {random_codes['random_codes']:,} random codes "
            f"({random_codes['stored_codes']:,} stored); over HTTP {successes} successes",
            "baseline": f"control: {random_codes['control_hits']}/10 known codes found",
            "target": "0 hits, 10/10 controls",
            "result": verdict(random_codes["hits"] == 0 and random_codes["control_hits"] == 10 and successes == 0),
            "load": f"{random_codes['load']['loadavg1_min']}–{random_codes['load']['loadavg1_max']}",
        }
    )
    path = write_result(
        "activation",
        {
            "options": vars(options),
            "runs": runs,
            "admitted": admitted,
            "random_codes": random_codes,
            "server_errors_logged": server_errors[:20],
            "targets": TARGETS,
            "table": rows,
        },
    )
    print_rows(rows)
    if server_errors:
        print(f"\n{len(server_errors)} error lines in {SITE.work_dir / 'gunicorn.log'}")
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
