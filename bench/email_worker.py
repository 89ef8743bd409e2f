"""`python -m bench.email_worker --limit N [--variant NAME]`: e-mail rendering and delivery, one process.

Two measurements on the outbox left by the campaign, printed as one JSON line on stdout:

1. `deliver`: what one delivery worker does (`espace_sante.outbox.services.outbox_claim` then
   `outbox_deliver`, batches of CLAIM_BATCH) for the first N queued e-mails, with bench.mail.SerializingBackend
   (Django's SMTP backend minus the network: MIME built and serialised to bytes). Includes decrypting the
   body, one UPDATE per message (autocommit) and the claim queries.
2. `render`: rendering alone on up to N other queued rows, already fetched and decrypted: EmailMessage →
   MIME → bytes, as the SMTP backend does. The upper bound of (1) on one core.

Messages per second are per process, i.e. per core (one Python process uses one core); CPU seconds of the
process are given too (the PostgreSQL backend's own CPU is not in them).
"""

import argparse
import json
import os
import sys
import time


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.email_worker")
    parser.add_argument("--limit", type=int, default=20_000)
    parser.add_argument("--variant", action="append", default=[])
    options = parser.parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django

    django.setup()
    from django.core.mail import EmailMessage

    from bench import mail, patches
    from espace_sante.outbox import services
    from espace_sante.outbox.enums import OutboxStatus
    from espace_sante.outbox.models import OutboxMessage

    for name in options.variant:
        patches.VARIANTS[name]()
    queued = OutboxMessage.objects.filter(status=OutboxStatus.QUEUED).count()
    result: dict = {"queued_before": queued, "variants": options.variant}

    # 2 first, on rows the delivery below will not touch (the newest ones), so both see the same kind of mail.
    sample = list(
        OutboxMessage.objects.filter(status=OutboxStatus.QUEUED)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)[: options.limit]
    )
    fetched = list(OutboxMessage.objects.filter(pk__in=sample))
    started, cpu = time.perf_counter(), time.process_time()
    size = 0
    for message in fetched:
        email = EmailMessage(
            subject=message.subject,
            body=message.body or "",
            to=[message.recipient],
            headers={"Message-ID": message.message_id},
        )
        size += len(email.message().as_bytes(linesep="\r\n"))
    elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu
    result["render"] = {
        "messages": len(fetched),
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu_used, 3),
        "per_second": round(len(fetched) / elapsed, 1) if elapsed else None,
        "per_cpu_second": round(len(fetched) / cpu_used, 1) if cpu_used else None,
        "average_bytes": round(size / len(fetched)) if fetched else 0,
    }
    del fetched

    # 1: the delivery worker's loop (outbox_flush without its unbounded `while`).
    keep = set(sample)
    sent = 0
    started, cpu = time.perf_counter(), time.process_time()
    while sent < options.limit:
        ids = services.outbox_claim(min(services.CLAIM_BATCH, options.limit - sent))
        if not ids:
            break
        if keep.intersection(ids):  # reached the rows used above: stop (they were not sent)
            OutboxMessage.objects.filter(pk__in=ids).update(status=OutboxStatus.QUEUED)
            break
        sent += services.outbox_deliver(ids)
    elapsed, cpu_used = time.perf_counter() - started, time.process_time() - cpu
    result["deliver"] = {
        "messages": sent,
        "seconds": round(elapsed, 3),
        "cpu_seconds": round(cpu_used, 3),
        "per_second": round(sent / elapsed, 1) if elapsed else None,
        "per_cpu_second": round(sent / cpu_used, 1) if cpu_used else None,
        "serialised_messages": mail.STATS["messages"],
        "serialised_bytes": mail.STATS["bytes"],
        "smtp_connections_opened": mail.STATS["connections"],
    }
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
