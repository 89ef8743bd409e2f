"""iCalendar (RFC 5545) output, written by hand: CRLF lines folded at 75 octets, TEXT escaping, a VTIMEZONE for
Europe/Paris, one UID per entry and a DTSTAMP. Tests parse it with the `icalendar` package."""

import datetime
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from agenda.enums import EntryKind, EntryStatus, FeedDetail
from agenda.models import PARIS, AgendaEntry

PRODID = "-//Mon espace santé//Agenda santé//FR"
VTIMEZONE_PARIS = [
    "BEGIN:VTIMEZONE",
    "TZID:Europe/Paris",
    "BEGIN:DAYLIGHT",
    "TZOFFSETFROM:+0100",
    "TZOFFSETTO:+0200",
    "TZNAME:CEST",
    "DTSTART:19700329T020000",
    "RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU",
    "END:DAYLIGHT",
    "BEGIN:STANDARD",
    "TZOFFSETFROM:+0200",
    "TZOFFSETTO:+0100",
    "TZNAME:CET",
    "DTSTART:19701025T030000",
    "RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU",
    "END:STANDARD",
    "END:VTIMEZONE",
]


def escape_text(value: str) -> str:
    """TEXT escaping (RFC 5545 §3.3.11): backslash, semicolon, comma, and newlines as \\n."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold a content line so no physical line exceeds 75 octets, never splitting a UTF-8 character."""
    encoded = line.encode()
    if len(encoded) <= 75:
        return line
    parts, current, limit = [], b"", 75
    for char in line:
        data = char.encode()
        if len(current) + len(data) > limit:
            parts.append(current.decode())
            current, limit = b"", 74  # continuation lines start with one space
        current += data
    parts.append(current.decode())
    return "\r\n ".join(parts)


def _utc(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")


def _local(value: datetime.datetime) -> str:
    return timezone.localtime(value, PARIS).strftime("%Y%m%dT%H%M%S")


def uid_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "monespacesante.example"


def summary(entry: AgendaEntry, *, detail: str, owner_pk: int | None) -> str:
    if detail == FeedDetail.BUSY:
        text = "Rendez-vous santé" if entry.kind == EntryKind.APPOINTMENT else "Rappel santé"
    elif detail == FeedDetail.TITLES and entry.kind == EntryKind.APPOINTMENT:
        text = entry.short_summary
    else:
        text = entry.summary
    if owner_pk is not None and entry.patient_id != owner_pk:
        text = f"{entry.patient.first_name} – {text}"
    if entry.status == EntryStatus.CANCELLED:
        text = f"Annulé – {text}"
    return text


def event_lines(entry: AgendaEntry, *, detail: str, owner_pk: int | None, stamp: datetime.datetime) -> list[str]:
    lines = [
        "BEGIN:VEVENT",
        f"UID:{entry.public_id}@{uid_domain()}",
        f"DTSTAMP:{_utc(stamp)}",
        f"LAST-MODIFIED:{_utc(entry.updated_at)}",
    ]
    if entry.all_day:
        start = entry.local_start.date()
        end = entry.local_end.date() if entry.ends_at else start + datetime.timedelta(days=1)
        lines += [f"DTSTART;VALUE=DATE:{start:%Y%m%d}", f"DTEND;VALUE=DATE:{end:%Y%m%d}"]
    else:
        lines.append(f"DTSTART;TZID=Europe/Paris:{_local(entry.starts_at)}")
        if entry.ends_at:
            lines.append(f"DTEND;TZID=Europe/Paris:{_local(entry.ends_at)}")
    lines.append(f"SUMMARY:{escape_text(summary(entry, detail=detail, owner_pk=owner_pk))}")
    if detail == FeedDetail.FULL:
        if entry.address:
            lines.append(f"LOCATION:{escape_text(entry.address)}")
        description = "\n".join(part for part in (entry.specialty, entry.note, entry.source_label) if part)
        if description:
            lines.append(f"DESCRIPTION:{escape_text(description)}")
    lines.append("STATUS:CANCELLED" if entry.status == EntryStatus.CANCELLED else "STATUS:CONFIRMED")
    lines.append("CLASS:PRIVATE")
    lines.append("TRANSP:OPAQUE" if entry.kind == EntryKind.APPOINTMENT else "TRANSP:TRANSPARENT")
    lines.append("END:VEVENT")
    return lines


def calendar(
    entries: Iterable[AgendaEntry], *, detail: str, name: str, owner_pk: int | None = None, publish: bool = True
) -> bytes:
    """A VCALENDAR with one VEVENT per entry; `owner_pk` prefixes other profiles' entries with their first name."""
    stamp = timezone.now()
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH" if publish else "",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-WR-TIMEZONE:Europe/Paris",
        *VTIMEZONE_PARIS,
    ]
    for entry in entries:
        lines += event_lines(entry, detail=detail, owner_pk=owner_pk, stamp=stamp)
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines if line).encode()
