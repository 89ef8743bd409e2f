from django.db import models


class TimestampedModel(models.Model):
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        abstract = True


class OAuthClientOwner:
    """A model whose OAuth client (django-oauth-toolkit Application) is found by `oauth_client_id`: no foreign
    key to the swappable model, so no app needs an OAUTH2_PROVIDER_APPLICATION_MODEL setting."""

    oauth_client_id: str | None

    @property
    def application(self):
        from oauth2_provider.models import get_application_model

        if not self.oauth_client_id:
            return None
        return get_application_model().objects.filter(client_id=self.oauth_client_id).first()


def jwks_from_file(path: str) -> dict:
    """A JWKS document read from an operator's file (commands); ValueError with the reason otherwise."""
    import json
    from pathlib import Path

    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as error:
        raise ValueError(f"Cannot read the JWKS file: {error}") from None
