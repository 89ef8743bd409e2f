"""The habilitation matrix: which professions read which document categories (R.1111-46).

Modelled on the arrêté du 26 octobre 2023: doctors read everything; pharmacists and nurses slightly less;
other health professions what their care needs; administrative papers stay with doctors. The patient's own
choices (masking, blocking) come on top, in espace_sante.access.policy.
"""

from accounts.enums import Profession
from dossier.enums import DocumentCategory as C

ALL = frozenset(C.values)
CLINICAL_CORE = frozenset({C.SYNTHESE, C.ORDONNANCES, C.COMPTES_RENDUS, C.SYNTHESE_MEDICALE, C.DIRECTIVES})

HABILITATIONS: dict[str, frozenset[str]] = {
    Profession.MEDECIN: ALL,
    Profession.SAGE_FEMME: ALL - {C.ADMINISTRATIF},
    Profession.CHIRURGIEN_DENTISTE: CLINICAL_CORE | {C.IMAGERIE, C.BIOLOGIE, C.PREVENTION, C.CERTIFICATS},
    Profession.PHARMACIEN: CLINICAL_CORE | {C.BIOLOGIE, C.PREVENTION},
    Profession.INFIRMIER: CLINICAL_CORE | {C.BIOLOGIE, C.IMAGERIE, C.PREVENTION, C.QUESTIONNAIRE},
    Profession.MASSEUR_KINESITHERAPEUTE: CLINICAL_CORE | {C.IMAGERIE},
    Profession.PEDICURE_PODOLOGUE: CLINICAL_CORE | {C.IMAGERIE},
    Profession.ERGOTHERAPEUTE: CLINICAL_CORE,
    Profession.PSYCHOMOTRICIEN: CLINICAL_CORE,
    Profession.ORTHOPHONISTE: CLINICAL_CORE,
    Profession.ORTHOPTISTE: CLINICAL_CORE,
    Profession.MANIPULATEUR_ELECTRORADIOLOGIE: frozenset({C.IMAGERIE, C.ORDONNANCES, C.COMPTES_RENDUS}),
    Profession.TECHNICIEN_LABORATOIRE: frozenset({C.BIOLOGIE, C.ORDONNANCES}),
    Profession.AUDIOPROTHESISTE: frozenset({C.ORDONNANCES, C.COMPTES_RENDUS}),
    Profession.OPTICIEN_LUNETIER: frozenset({C.ORDONNANCES}),
    Profession.PROTHESISTE_ORTHESISTE: frozenset({C.ORDONNANCES, C.COMPTES_RENDUS}),
    Profession.DIETETICIEN: frozenset({C.SYNTHESE, C.BIOLOGIE, C.COMPTES_RENDUS}),
    Profession.AIDE_SOIGNANT: frozenset({C.SYNTHESE, C.DIRECTIVES}),
    Profession.AUXILIAIRE_PUERICULTURE: frozenset({C.SYNTHESE, C.PREVENTION}),
    Profession.AMBULANCIER: frozenset({C.SYNTHESE, C.DIRECTIVES}),
    Profession.ASSISTANT_DENTAIRE: frozenset(),
    Profession.PHYSICIEN_MEDICAL: frozenset({C.IMAGERIE}),
}


def readable_categories(profession: str) -> frozenset[str]:
    """Categories a profession may read; an unknown profession reads nothing."""
    return HABILITATIONS.get(profession, frozenset())


def may_read_history_of_care(profession: str) -> bool:
    """The reimbursement history goes to the professions that prescribe or dispense."""
    return profession in {
        Profession.MEDECIN,
        Profession.SAGE_FEMME,
        Profession.PHARMACIEN,
        Profession.CHIRURGIEN_DENTISTE,
    }


# What a connected service (catalogue) may file in a patient's documents. Never the patient's own will
# (directives anticipées) or questionnaire, never what Mon espace santé writes itself (synthèse médicale), never
# what only a professional signs (VSM "Ma santé en résumé", prescriptions, certificates, biology and imaging
# results: a professional reading them must know a health professional stands behind them). A service's own
# reports (a teleconsultation summary), prevention papers, administrative papers and other documents remain.
SERVICE_WRITABLE_CATEGORIES: frozenset[str] = frozenset({C.COMPTES_RENDUS, C.PREVENTION, C.ADMINISTRATIF, C.AUTRES})
