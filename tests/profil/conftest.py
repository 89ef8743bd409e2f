import pytest

from espace_sante.access.middleware import SESSION_ACTING_FOR


@pytest.fixture
def as_patient(client, session_as, personas):
    """as_patient("camille") or as_patient("leo"): a client acting for that profile (Léo through his father)."""

    def _as(who: str):
        if who == "leo":
            session_as(client, "julien")
            session = client.session
            session[SESSION_ACTING_FOR] = personas.leo.pk
            session.save()
            return personas.leo
        session_as(client, who)
        return getattr(personas, who)

    return _as
