"""Bulk inserts: PostgreSQL COPY (several times faster than bulk_create), ORM elsewhere (the SQLite demo)."""

from collections.abc import Iterable, Sequence

from django.db import connections, models, router
from django.db.models.lookups import In

# Fields whose database value IS the Python value on PostgreSQL (psycopg adapts them): COPY writes the
# value as given, without Django's per-value preparation (18 % of a campaign chunk's time when it ran for
# every value). Exact types only: a subclass (an encrypted field, say) may prepare its value.
_WRITTEN_AS_IS = {
    models.AutoField,
    models.BigAutoField,
    models.IntegerField,
    models.BigIntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.BooleanField,
    models.CharField,
    models.TextField,
    models.UUIDField,
    models.DateField,
    models.DateTimeField,
}


def _written_as_is(field) -> bool:
    if isinstance(field, models.ForeignKey):
        return type(field.target_field) in _WRITTEN_AS_IS
    return type(field) in _WRITTEN_AS_IS


def copy_insert(model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert `rows` (Python values in the order of `fields`) into `model`'s table. Returns the count.

    Values of the field types above must already have their Python type (str, int, UUID, aware datetime);
    other fields go through their own preparation (encryption for EncryptedTextField included), so both
    paths store exactly what `Model.objects.create` would.
    """
    connection = connections[router.db_for_write(model)]
    model_fields = [model._meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        objects = [model(**{f.attname: v for f, v in zip(model_fields, row, strict=True)}) for row in rows]
        model.objects.bulk_create(objects, batch_size=500)
        return len(objects)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in model_fields)
    prepared = [(index, field) for index, field in enumerate(model_fields) if not _written_as_is(field)]
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
        for row in rows:
            if prepared:
                row = list(row)
                for index, field in prepared:
                    row[index] = field.get_db_prep_save(row[index], connection)
            copy.write_row(row)
            count += 1
    return count


class InArray(In):
    """`field IN (ids)` as ONE array parameter on PostgreSQL (`= ANY(%s)`), a plain IN elsewhere.

    Use as a filter expression: `queryset.filter(InArray(F("pk"), ids))`. With thousands of ids, IN's one
    placeholder per id cost 10 % of a campaign chunk (psycopg formats every parameter into the query).
    """

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, list(self.rhs))
