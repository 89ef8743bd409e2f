"""Log lines without personal data: a JSON formatter (production) and a scrubbing filter (everywhere).

JsonFormatter writes one JSON object per line with a fixed set of keys: time, level, logger, message, and
when known request_id, route, method, status, duration_ms, exception. Anything else a caller puts in
`extra=` is left out, so a new `extra` cannot leak a field by accident.

ScrubPersonalData is the last line of defence, on the handler: the services never log a NIR, an address, a
code or a token (tests/security/test_no_secrets_leak.py, tests/ops/test_logging.py), and this filter replaces
whatever still looks like one in the message, its arguments, the traceback and the stack. It also replaces
the request path of Django's own lines ("Not Found: /partage/<token>/") with the route name, since a path may
carry a capability token. It changes the record in place, so every handler after it gets the scrubbed text.
"""

import datetime
import json
import logging
import re

from espace_sante.audit.context import current

# Order matters: addresses first (they hold digits), then NIR-shaped and long numbers, codes, tokens.
_CROCKFORD = "0-9A-HJKMNP-TV-Za-hjkmnp-tv-z"  # provisional codes: 16 Crockford base-32 characters
PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("[email]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    # NIR: sex, year, month, department (2A/2B for Corsica), commune, order, optional key; spaces allowed.
    (
        "[nir]",
        re.compile(
            r"(?<![\w])(?<!\d\.)[1-478]\s?\d{2}\s?\d{2}\s?(?:\d{2}|2[AaBb])\s?\d{3}\s?\d{3}(?:\s?\d{2})?(?![\w])"
        ),
    ),
    # NIR-like numbers, card serials, account numbers; not the fraction of a duration ("in 0.0012345678901234s").
    ("[number]", re.compile(r"(?<!\d)(?<!\d\.)\d{13,}(?!\d)")),
    (
        "[code]",
        re.compile(
            rf"(?<![\w-])(?=[\w\s-]{{0,19}}\d)(?=[\w\s-]{{0,19}}[A-Za-z])"
            rf"[{_CROCKFORD}]{{4}}(?:[-\s]?[{_CROCKFORD}]{{4}}){{3}}(?![\w-])"
        ),
    ),
    # Session keys (32 characters), reset and share tokens: long runs of letters and digits, not UUIDs.
    (
        "[token]",
        re.compile(
            r"(?<![\w-])(?![0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?![\w-]))"
            r"(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[\w-]{32,}(?![\w-])"
        ),
    ),
)
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})


def scrub(text: str) -> str:
    for replacement, pattern in PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def route_name(request) -> str | None:
    """The URL pattern's name ("dossier:document"), never the path; None when no pattern matched."""
    match = getattr(request, "resolver_match", None)
    return match.view_name if match is not None else None


class ScrubPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001  a bad call or __str__: never raise into the code that logs
            message = f"{record.msg} (arguments that could not be formatted)" if isinstance(record.msg, str) else ""
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str) and len(path) > 1:  # Django's request lines: the route, not the path
            label = f"<{route_name(request) or 'unresolved'}>"
            message = message.replace(request.get_full_path(), label).replace(path, label)
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        created = datetime.datetime.fromtimestamp(record.created, tz=datetime.UTC)
        line: dict[str, object] = {
            "time": created.isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request", None)
        # Given by the caller, or the request being served, or the request Django logs about after the fact.
        context = current.get() or getattr(request, "audit_context", None)
        request_id = getattr(record, "request_id", None) or getattr(context, "request_id", None)
        if request_id is not None:
            line["request_id"] = str(request_id)
        route = getattr(record, "route", None) or (route_name(request) if hasattr(request, "path") else None)
        if route:
            line["route"] = route
        method = getattr(record, "method", None) or getattr(request, "method", None)
        if isinstance(method, str):
            line["method"] = method if method in KNOWN_METHODS else "OTHER"
        status = getattr(record, "status", None) or getattr(record, "status_code", None)
        if isinstance(status, int):
            line["status"] = status
        duration = getattr(record, "duration_ms", None)
        if isinstance(duration, int | float):
            line["duration_ms"] = duration
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)
