"""Shared vocabulary of the roles × pages matrices: personas, row builder and common rows.

Each app keeps its rows in `tests/<app>/matrix.py` as `ROWS = {(url name, kwargs tuple): row(...)}`;
tests/access/test_matrix.py runs them all and fails when a named URL has no row anywhere.
"""

PERSONAS = [
    "anonymous",
    "camille",
    "julien",
    "sophie",
    "dr_martin",
    "pharmacien_leroy",
    "agent_cpam",
    "agent_france_services",
]
PATIENTS = ("camille", "julien", "sophie")
PROS = ("dr_martin", "pharmacien_leroy")
AGENTS = ("agent_cpam", "agent_france_services")


def row(*, anonymous: int, patient: int, pro: int, agent: int) -> dict[str, int]:
    expected = {"anonymous": anonymous}
    expected.update(dict.fromkeys(PATIENTS, patient))
    expected.update(dict.fromkeys(PROS, pro))
    expected.update(dict.fromkeys(AGENTS, agent))
    return expected


PUBLIC = row(anonymous=200, patient=200, pro=200, agent=200)
PATIENT_PAGE = row(anonymous=302, patient=200, pro=403, agent=403)

PATIENT_POST = row(anonymous=302, patient=405, pro=403, agent=403)
PRO_PAGE = row(anonymous=302, patient=403, pro=200, agent=403)
PRO_OBJECT = row(anonymous=302, patient=403, pro=404, agent=403)
UNKNOWN = (("public_id", "6f1c2b9e-0000-4000-8000-000000000000"),)
