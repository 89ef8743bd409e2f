"""FHIR search: parameters (token, date, reference, string), result parameters, keyset paging.

A resource declares its own search parameters (registry.Resource.search_params); this module parses the query
string into Django filters and pages the resource's queryset by (sort key, primary key), so that a page never
shifts when rows are added and every row of the result is reachable through `next` links.
"""

import datetime
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core import signing
from django.db import models
from django.db.models import Q

from espace_sante.fhir.errors import FhirError, FhirInputError

DEFAULT_COUNT = 50
MAX_COUNT = 200
PAGE_SALT = "espace_sante.fhir.page"
# Parameters of every search (FHIR R4 §3.1.1.5 and §3.1.1.4): not declared by the resources.
RESULT_PARAMETERS = ("_count", "_sort", "_summary", "_page", "_format", "_total")
DATE_PREFIXES = ("eq", "ne", "lt", "gt", "le", "ge", "sa", "eb")
DATE_VALUE = re.compile(
    r"^(?P<year>\d{4})(?:-(?P<month>\d{2})(?:-(?P<day>\d{2})"
    r"(?:T(?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:\.\d+)?)?(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True)
class SearchParam:
    """One search parameter of a resource.

    - token: `to_q(system, code)` gives the filter of one `system|code` value (system None: any system;
      "" : no system), or None when nothing can match;
    - date: `field` is the model field (or annotation) compared;
    - reference / string: `to_q(value)` gives the filter, or None when nothing can match.
    """

    name: str
    type: str
    documentation: str
    field: str = ""
    to_q: Callable | None = None


@dataclass
class Query:
    filters: list = field(default_factory=list)
    count: int = DEFAULT_COUNT
    sort_name: str = ""
    sort_field: str = ""
    descending: bool = True
    summary_count: bool = False
    cursor: dict | None = None
    used: list = field(default_factory=list)  # (name, value) pairs applied, for the self link

    def digest(self, resource_type: str) -> str:
        canonical = urlencode(sorted(pair for pair in self.used if pair[0] != "_count"))
        return hashlib.sha256(f"{resource_type}?{canonical}".encode()).hexdigest()[:16]


def _unknown(name: str, strict: bool, why: str) -> None:
    if strict:
        raise FhirError(why, code="not-supported", reason="invalid")


def _zone(text: str | None) -> datetime.tzinfo:
    if text == "Z":
        return datetime.UTC
    if text:
        sign = 1 if text[0] == "+" else -1
        return datetime.timezone(sign * datetime.timedelta(hours=int(text[1:3]), minutes=int(text[4:6])))
    return ZoneInfo(settings.TIME_ZONE)


def _date_range(value: str) -> tuple[datetime.datetime, datetime.datetime]:
    match = DATE_VALUE.match(value)
    if not match:
        raise FhirInputError(f"Date de recherche invalide : « {value[:40]} » (attendu AAAA, AAAA-MM, AAAA-MM-JJ…).")
    parts = {key: int(part) for key, part in match.groupdict().items() if part and key != "tz"}
    tz_text = match.group("tz")
    try:  # 30 February, year 0, an offset of 30 hours, the last instant of year 9999: a 400, never a 500
        tz = _zone(tz_text)
        start = datetime.datetime(
            parts["year"],
            parts.get("month", 1),
            parts.get("day", 1),
            parts.get("hour", 0),
            parts.get("minute", 0),
            parts.get("second", 0),
            tzinfo=tz,
        )
        if "second" in parts:
            end = start + datetime.timedelta(seconds=1)
        elif "minute" in parts:
            end = start + datetime.timedelta(minutes=1)
        elif "day" in parts:
            end = start + datetime.timedelta(days=1)
        elif "month" in parts:
            end = (start.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        else:
            end = start.replace(year=start.year + 1)
    except (ValueError, OverflowError) as error:
        raise FhirInputError(f"Date de recherche invalide : « {value} ».") from error
    return start, end


def date_q(field_name: str, raw: str, *, is_date: bool) -> Q:
    prefix = raw[:2] if raw[:2] in DATE_PREFIXES else "eq"
    value = raw[2:] if raw[:2] in DATE_PREFIXES else raw
    start, end = _date_range(value)
    try:  # the database compares in UTC (and local dates for a DateField): both must exist
        start.astimezone(datetime.UTC), end.astimezone(datetime.UTC)
        if is_date:
            local = ZoneInfo(settings.TIME_ZONE)
            start, end = start.astimezone(local).date(), end.astimezone(local).date()
            if end == start:
                end = start + datetime.timedelta(days=1)
    except (ValueError, OverflowError) as error:
        raise FhirInputError(f"Date de recherche hors des limites : « {value} ».") from error
    inside = Q(**{f"{field_name}__gte": start, f"{field_name}__lt": end})
    return {
        "eq": inside,
        "ne": ~inside,
        "lt": Q(**{f"{field_name}__lt": start}),
        "eb": Q(**{f"{field_name}__lt": start}),
        "gt": Q(**{f"{field_name}__gte": end}),
        "sa": Q(**{f"{field_name}__gte": end}),
        "le": Q(**{f"{field_name}__lt": end}),
        "ge": Q(**{f"{field_name}__gte": start}),
    }[prefix]


def _token_q(param: SearchParam, raw: str) -> Q:
    """`a,b` is OR; each value `system|code`, `|code` (no system) or `code` (any system)."""
    combined = Q(pk__in=[])
    for value in raw.split(","):
        if "|" in value:
            system, _, code = value.partition("|")
        else:
            system, code = None, value
        q = param.to_q(system, code) if code else None
        if q is not None:
            combined |= q
    return combined


def _value_q(param: SearchParam, raw: str) -> Q:
    combined = Q(pk__in=[])
    for value in raw.split(","):
        q = param.to_q(value)
        if q is not None:
            combined |= q
    return combined


def _is_date_field(model: type[models.Model], name: str) -> bool:
    try:
        model_field = model._meta.get_field(name)
    except Exception:  # noqa: BLE001 - an annotation, not a field: compared as a datetime
        return False
    return isinstance(model_field, models.DateField) and not isinstance(model_field, models.DateTimeField)


def parse(resource, params, *, strict: bool, model: type[models.Model]) -> Query:
    """The query of a search, from the request's parameters (a QueryDict)."""
    declared = {param.name: param for param in resource.all_search_params()}
    query = Query()
    sort = resource.default_sort
    for name in params:
        values = params.getlist(name)
        base_name, _, modifier = name.partition(":")
        if name == "_count":
            try:
                count = int(values[-1])
            except ValueError as error:
                raise FhirInputError("« _count » doit être un nombre entier.") from error
            if count < 0:
                raise FhirInputError("« _count » ne peut pas être négatif.")
            query.count = min(count, MAX_COUNT)
            query.summary_count = query.summary_count or count == 0
            query.used.append(("_count", str(query.count)))
        elif name == "_sort":
            sort = values[-1]
            if sort.lstrip("-") not in resource.sort_fields:
                _unknown(name, strict, f"Tri non pris en charge : « {sort} ».")
                sort = resource.default_sort
            else:
                query.used.append(("_sort", sort))
        elif name == "_summary":
            if values[-1] == "count":
                query.summary_count = True
                query.used.append(("_summary", "count"))
            elif values[-1] != "false":
                _unknown(name, strict, "Seul « _summary=count » est pris en charge.")
        elif name == "_page":
            try:
                query.cursor = signing.loads(values[-1], salt=PAGE_SALT)
            except signing.BadSignature as error:
                raise FhirError("Lien de page invalide.", status=400, code="invalid", reason="invalid") from error
        elif name in RESULT_PARAMETERS:
            continue
        elif base_name in declared and not modifier:
            param = declared[base_name]
            for raw in values:
                if param.type == "date":
                    query.filters.append(date_q(param.field, raw, is_date=_is_date_field(model, param.field)))
                elif param.type == "token":
                    query.filters.append(_token_q(param, raw))
                else:
                    query.filters.append(_value_q(param, raw))
                query.used.append((name, raw))
        else:
            _unknown(name, strict, f"Paramètre de recherche non pris en charge : « {name} ».")
    query.descending = sort.startswith("-")
    query.sort_name = sort.lstrip("-")
    query.sort_field = resource.sort_fields[query.sort_name]
    return query


# --- keyset paging ------------------------------------------------------------------------------------------


def _encode(value):
    if isinstance(value, datetime.datetime):
        return ["dt", value.isoformat()]
    if isinstance(value, datetime.date):
        return ["d", value.isoformat()]
    return ["v", value]


def _decode(pair):
    kind, value = pair
    if kind == "dt":
        return datetime.datetime.fromisoformat(value)
    if kind == "d":
        return datetime.date.fromisoformat(value)
    return value


def cursor_token(query: Query, digest: str, item, direction: str) -> str:
    return signing.dumps(
        {"q": digest, "d": direction, "k": _encode(getattr(item, query.sort_field)), "pk": item.pk},
        salt=PAGE_SALT,
        compress=True,
    )


def page(queryset, query: Query, digest: str) -> tuple[list, bool, bool]:
    """One page of the queryset: (items, has_previous, has_next), ordered by the sort key then the pk."""
    field_name = query.sort_field
    cursor = query.cursor
    if cursor is not None and cursor.get("q") != digest:
        raise FhirError("Ce lien de page appartient à une autre recherche.", code="invalid", reason="invalid")
    backwards = cursor is not None and cursor.get("d") == "prev"
    descending = query.descending != backwards  # reading backwards reverses the order
    order = [f"-{field_name}", "-pk"] if descending else [field_name, "pk"]
    queryset = queryset.order_by(*order)
    if cursor is not None:
        key, pk = _decode(cursor["k"]), cursor["pk"]
        if descending:
            queryset = queryset.filter(Q(**{f"{field_name}__lt": key}) | Q(**{field_name: key, "pk__lt": pk}))
        else:
            queryset = queryset.filter(Q(**{f"{field_name}__gt": key}) | Q(**{field_name: key, "pk__gt": pk}))
    items = list(queryset[: query.count + 1])
    more = len(items) > query.count
    items = items[: query.count]
    if backwards:
        return list(reversed(items)), more, True
    return items, cursor is not None, more
