"""Model fields whose content is encrypted at rest with the key ring."""

from django.db import models

from espace_sante.crypto.aead import open_sealed, seal


class EncryptedTextField(models.BinaryField):
    """Text stored as an AES-GCM envelope bound to "<app_label>.<Model>.<field>".

    Never filter, order or index on it. Rows are re-encrypted by `manage.py rotate_keys`.
    """

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    @property
    def context(self) -> str:
        return f"{self.model._meta.label}.{self.name}"

    def get_prep_value(self, value):
        if value is None:
            return None
        return seal(str(value).encode(), context=self.context)

    def from_db_value(self, value, expression, connection):
        if value is None:
            return None
        return open_sealed(bytes(value), context=self.context).decode()

    def to_python(self, value):
        return value

    def value_to_string(self, obj) -> str:
        return self.value_from_object(obj) or ""

    def formfield(self, **kwargs):
        return models.TextField().formfield(**kwargs)
