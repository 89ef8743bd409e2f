"""Bulk inserts: PostgreSQL COPY (several times faster than bulk_create), ORM elsewhere (the SQLite demo)."""

from collections.abc import Iterable, Sequence

from django.db import connections, router


def copy_insert(model, fields: Sequence[str], rows: Iterable[Sequence]) -> int:
    """Insert `rows` (Python values in the order of `fields`) into `model`'s table. Returns the count.

    Values go through each field's own preparation (encryption for EncryptedTextField included), so
    both paths store exactly what `Model.objects.create` would.
    """
    connection = connections[router.db_for_write(model)]
    model_fields = [model._meta.get_field(name) for name in fields]
    if connection.vendor != "postgresql":
        objects = [model(**{f.attname: v for f, v in zip(model_fields, row, strict=True)}) for row in rows]
        model.objects.bulk_create(objects, batch_size=500)
        return len(objects)
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(field.column) for field in model_fields)
    count = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # noqa: S608
        for row in rows:
            copy.write_row(
                [field.get_db_prep_save(value, connection) for field, value in zip(model_fields, row, strict=True)]
            )
            count += 1
    return count
