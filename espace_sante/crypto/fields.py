"""Model fields whose content is encrypted at rest with the key ring."""

from django import forms
from django.db import models

from espace_sante.crypto.aead import open_sealed, seal


class EncryptedTextField(models.BinaryField):
    """Text stored as an AES-GCM envelope bound to "<app_label>.<Model>.<field>".

    Never filter, order or index on it. Rows are re-encrypted by `manage.py rotate_keys`.
    """

    # Validation and defaults are those of text: BinaryField's b"" would be sealed as the text "b''".
    empty_values = [None, ""]

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("editable", True)
        super().__init__(*args, **kwargs)

    def _check_str_default_value(self) -> list:
        return []  # a text default is right here

    def get_default(self):
        return models.Field.get_default(self)

    @property
    def context(self) -> str:
        return f"{self.model._meta.label}.{self.name}"

    def get_prep_value(self, value):
        if value is None:
            return None
        if isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(f"{self.context} holds text, not bytes")
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
        # Field.formfield keeps this field's label, help text, default and blank; a fresh TextField() would not.
        return super().formfield(**{"form_class": forms.CharField, "widget": forms.Textarea, **kwargs})
