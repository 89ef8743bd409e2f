"""The prevention calendar ("Suggéré par Mon espace santé"): every rule, its reason and its source.

This module is data: a list of `Rule`s and the small functions that turn a person's birth date and sex into
dated milestones. Nothing here reads the database. Sources (checked against the texts in force in 2025):

- Calendrier des vaccinations et recommandations vaccinales 2025, ministère chargé de la Santé, établi
  après avis de la Haute Autorité de santé (HAS): infant schedule, boosters, HPV, adults, 65 years and over.
- Code de la santé publique, article L3111-2, and décret n° 2024-694 du 5 juillet 2024: the eleven vaccines
  mandatory for children born since 2018, méningocoques B and ACWY mandatory for infants from 1 January 2025
  (ACWY replaces C: one dose at 6 months and one at 12 months; B at 3, 5 and 12 months).
- HAS, recommandations vaccinales: zona (Shingrix, 65 ans et plus, 2024), pneumocoque (vaccin conjugué
  20-valent, 65 ans et plus, 2023 — in the 2025 calendar), VRS (75 ans et plus, and 65–74 ans with chronic
  respiratory or cardiac disease, 2024).
- Arrêté du 26 février 2019 relatif au calendrier des examens médicaux obligatoires de l'enfant, as amended
  from 1 January 2025 (the exam "avant la fin du 1er mois" removed, one "au cours de la 7e année" added):
  20 examinations from birth to 16 years (Code de la santé publique, R.2132-1).
- Programme M'T dents de l'Assurance Maladie: a free dental check-up every three years from 3 to 24 years
  (convention dentaire 2023, in force since 2025).
- Dépistages organisés des cancers (Institut national du cancer, Assurance Maladie): sein (women 50–74,
  every two years), colorectal (50–74, every two years), col de l'utérus (arrêté du 30 juillet 2020; HAS
  2019: cytology at 25 and 26 then three years later; from 30 to 65, an HPV test every five years).
- Mon bilan prévention (article L1411-6-2 du code de la santé publique, LFSS 2023): 18–25, 45–50, 60–65 and
  70–75 years.

Ages are "reached" the way `espace_sante.lib.dates.age_on` counts them: a person born on 29 February is a year
older on 1 March in a common year; a month added to 31 January gives 1 March (the first day on which the
person is a full month old). Windows are [start, end): due from the day the start age is reached, until the
day before the end age is reached.
"""

import datetime
from dataclasses import dataclass

from agenda.enums import PreventionCategory as Category

UPCOMING_HORIZON_DAYS = 365  # milestones starting within a year are shown as "à venir"
OVERDUE_SHOWN_DAYS = 2 * 365  # a window closed less than two years ago is shown as "date recommandée dépassée"
OLDEST = 110


@dataclass(frozen=True)
class Age:
    years: int = 0
    months: int = 0
    days: int = 0

    def reached(self, birth: datetime.date) -> datetime.date:
        """The first date on which a person born on `birth` has this age."""
        month_index = birth.month - 1 + self.months
        year = birth.year + self.years + month_index // 12
        month = month_index % 12 + 1
        try:
            date = datetime.date(year, month, birth.day)
        except ValueError:  # 29, 30 or 31 missing in that month: the age is reached on the 1st of the next
            date = datetime.date(year + month // 12, month % 12 + 1, 1)
        return date + datetime.timedelta(days=self.days)

    def __str__(self) -> str:
        if self.years:
            return f"{self.years} an{'s' if self.years > 1 else ''}"
        if self.months:
            return f"{self.months} mois"
        return f"{self.days} jour{'s' if self.days > 1 else ''}"


@dataclass(frozen=True)
class Source:
    label: str
    url: str


@dataclass(frozen=True)
class Rule:
    code: str  # stable: stored with the patient's state, never renamed
    title: str
    category: Category
    start: Age  # inclusive
    end: Age  # exclusive
    reason: str  # "Pourquoi ce rappel ?"
    source: Source
    sex: str | None = None  # "F" or "M" when the rule concerns one sex only
    mandatory: bool = False
    vaccine: str = ""  # for vaccinations: what is recorded in the medical profile when marked done

    @property
    def category_label(self) -> str:
        return Category(self.category).label

    @property
    def is_vaccination(self) -> bool:
        return self.category == Category.VACCINATION


# --- Sources ------------------------------------------------------------------------------------------------

CALENDRIER_VACCINAL = Source(
    "Calendrier des vaccinations et recommandations vaccinales 2025, ministère chargé de la Santé (avis de la HAS)",
    "https://sante.gouv.fr/prevention-en-sante/preserver-sa-sante/vaccination/calendrier-vaccinal",
)
OBLIGATION_VACCINALE = Source(
    "Code de la santé publique, article L3111-2 ; décret n° 2024-694 du 5 juillet 2024 (méningocoques B et ACWY) ; "
    "calendrier des vaccinations 2025",
    "https://www.legifrance.gouv.fr/codes/article_lc/LEGIARTI000036393314",
)
HAS_VACCINS_SENIORS = Source(
    "Haute Autorité de santé, recommandations vaccinales (zona 2024, pneumocoque 2023, VRS 2024), reprises dans "
    "le calendrier des vaccinations 2025",
    "https://www.has-sante.fr/jcms/c_2571091/fr/vaccinations",
)
EXAMENS_ENFANT = Source(
    "Arrêté du 26 février 2019 modifié relatif au calendrier des examens médicaux obligatoires de l’enfant "
    "(calendrier en vigueur depuis le 1er janvier 2025), code de la santé publique R.2132-1",
    "https://www.legifrance.gouv.fr/loda/id/JORFTEXT000038175215/",
)
MT_DENTS = Source(
    "Programme M’T dents de l’Assurance Maladie (examen offert tous les 3 ans de 3 à 24 ans)",
    "https://www.ameli.fr/assure/sante/themes/sante-bucco-dentaire/mt-dents",
)
DEPISTAGE_SEIN = Source(
    "Programme de dépistage organisé du cancer du sein, Institut national du cancer et Assurance Maladie",
    "https://www.e-cancer.fr/Comprendre-prevenir-depister/Se-faire-depister/Depistage-du-cancer-du-sein",
)
DEPISTAGE_COLORECTAL = Source(
    "Programme de dépistage organisé du cancer colorectal, Institut national du cancer et Assurance Maladie",
    "https://www.e-cancer.fr/Comprendre-prevenir-depister/Se-faire-depister/Depistage-du-cancer-colorectal",
)
DEPISTAGE_COL = Source(
    "Dépistage organisé du cancer du col de l’utérus : arrêté du 30 juillet 2020 et recommandations de la HAS (2019)",
    "https://www.e-cancer.fr/Comprendre-prevenir-depister/Se-faire-depister/Depistage-du-cancer-du-col-de-l-uterus",
)
BILAN_PREVENTION = Source(
    "Mon bilan prévention, code de la santé publique L1411-6-2 (loi de financement de la sécurité sociale 2023)",
    "https://www.monbilanprevention.sante.gouv.fr/",
)


# --- Rules --------------------------------------------------------------------------------------------------


def _months(start: int, end: int) -> tuple[Age, Age]:
    return Age(months=start), Age(months=end)


def _years(start: int, end: int) -> tuple[Age, Age]:
    return Age(years=start), Age(years=end)


INFANT_REASON = (
    "Ces vaccins sont obligatoires pour les enfants nés depuis 2018 (et contre les méningocoques B et ACWY depuis "
    "2025) : ils sont exigés pour l’entrée en crèche, chez une assistante maternelle ou à l’école."
)


def _infant_vaccines() -> list[Rule]:
    visits = [
        (
            "vaccins-2-mois",
            2,
            "Vaccins de 2 mois",
            "diphtérie, tétanos, coqueluche, poliomyélite, Haemophilus influenzae b, hépatite B (1re dose) ; "
            "pneumocoque (1re dose)",
        ),
        ("vaccins-3-mois", 3, "Vaccins de 3 mois", "méningocoque B (1re dose)"),
        (
            "vaccins-4-mois",
            4,
            "Vaccins de 4 mois",
            "diphtérie, tétanos, coqueluche, poliomyélite, Haemophilus influenzae b, hépatite B (2e dose) ; "
            "pneumocoque (2e dose)",
        ),
        ("vaccins-5-mois", 5, "Vaccins de 5 mois", "méningocoque B (2e dose)"),
        ("vaccins-6-mois", 6, "Vaccins de 6 mois", "méningocoques ACWY (1re dose)"),
        (
            "vaccins-11-mois",
            11,
            "Vaccins de 11 mois",
            "diphtérie, tétanos, coqueluche, poliomyélite, Haemophilus influenzae b, hépatite B (rappel) ; "
            "pneumocoque (rappel)",
        ),
        (
            "vaccins-12-mois",
            12,
            "Vaccins de 12 mois",
            "rougeole, oreillons, rubéole (1re dose) ; méningocoques ACWY (rappel) ; méningocoque B (rappel)",
        ),
    ]
    rules = [
        Rule(
            code=code,
            title=title,
            category=Category.VACCINATION,
            start=Age(months=month),
            end=Age(months=month + 1),
            reason=f"À {month} mois : {what}. {INFANT_REASON}",
            source=OBLIGATION_VACCINALE,
            mandatory=True,
            vaccine=what,
        )
        for code, month, title, what in visits
    ]
    rules.append(
        Rule(
            code="vaccins-16-18-mois",
            title="Vaccin rougeole, oreillons, rubéole (2e dose)",
            category=Category.VACCINATION,
            start=Age(months=16),
            end=Age(months=19),
            reason=f"Entre 16 et 18 mois : rougeole, oreillons, rubéole (2e dose). {INFANT_REASON}",
            source=OBLIGATION_VACCINALE,
            mandatory=True,
            vaccine="rougeole, oreillons, rubéole (2e dose)",
        )
    )
    return rules


def _other_vaccines() -> list[Rule]:
    rules = [
        Rule(
            code="rappel-6-ans",
            title="Rappel diphtérie, tétanos, coqueluche, poliomyélite (6 ans)",
            category=Category.VACCINATION,
            start=Age(years=6),
            end=Age(years=7),
            reason="Le rappel de 6 ans entretient la protection acquise pendant la petite enfance.",
            source=CALENDRIER_VACCINAL,
            vaccine="diphtérie, tétanos, coqueluche, poliomyélite (rappel de 6 ans)",
        ),
        Rule(
            code="rappel-11-13-ans",
            title="Rappel diphtérie, tétanos, coqueluche, poliomyélite (11 à 13 ans)",
            category=Category.VACCINATION,
            start=Age(years=11),
            end=Age(years=14),
            reason="Un rappel est recommandé entre 11 et 13 ans, avec un vaccin à doses réduites (dTcaP).",
            source=CALENDRIER_VACCINAL,
            vaccine="diphtérie, tétanos, coqueluche, poliomyélite (rappel de 11-13 ans)",
        ),
        Rule(
            code="hpv-11-14-ans",
            title="Vaccination contre les papillomavirus (HPV)",
            category=Category.VACCINATION,
            start=Age(years=11),
            end=Age(years=15),
            reason=(
                "Recommandée pour les filles et les garçons de 11 à 14 ans (2 doses), elle protège contre les "
                "cancers liés aux papillomavirus. Un rattrapage est possible ensuite (3 doses)."
            ),
            source=CALENDRIER_VACCINAL,
            vaccine="papillomavirus humains (HPV)",
        ),
        Rule(
            code="meningo-acwy-11-14-ans",
            title="Vaccination contre les méningocoques ACWY (adolescents)",
            category=Category.VACCINATION,
            start=Age(years=11),
            end=Age(years=15),
            reason=(
                "Une dose est recommandée entre 11 et 14 ans, quelle que soit la vaccination reçue dans l’enfance, "
                "avec un rattrapage jusqu’à 24 ans."
            ),
            source=CALENDRIER_VACCINAL,
            vaccine="méningocoques ACWY (adolescent)",
        ),
        Rule(
            code="rappel-25-ans",
            title="Rappel diphtérie, tétanos, coqueluche, poliomyélite (25 ans)",
            category=Category.VACCINATION,
            start=Age(years=25),
            end=Age(years=26),
            reason=(
                "À 25 ans, le rappel inclut la coqueluche (dTcaP), pour protéger aussi les nourrissons de l’entourage."
            ),
            source=CALENDRIER_VACCINAL,
            vaccine="diphtérie, tétanos, coqueluche, poliomyélite (rappel de 25 ans)",
        ),
        Rule(
            code="rappel-45-ans",
            title="Rappel diphtérie, tétanos, poliomyélite (45 ans)",
            category=Category.VACCINATION,
            start=Age(years=45),
            end=Age(years=46),
            reason="Les rappels de l’adulte ont lieu à 25, 45 et 65 ans, puis tous les dix ans.",
            source=CALENDRIER_VACCINAL,
            vaccine="diphtérie, tétanos, poliomyélite (rappel de 45 ans)",
        ),
    ]
    for age in range(65, OLDEST, 10):
        rules.append(
            Rule(
                code=f"rappel-{age}-ans",
                title=f"Rappel diphtérie, tétanos, poliomyélite ({age} ans)",
                category=Category.VACCINATION,
                start=Age(years=age),
                end=Age(years=age + 1),
                reason="À partir de 65 ans, le rappel diphtérie, tétanos, poliomyélite a lieu tous les dix ans.",
                source=CALENDRIER_VACCINAL,
                vaccine=f"diphtérie, tétanos, poliomyélite (rappel de {age} ans)",
            )
        )
    for age in range(65, OLDEST):
        rules.append(
            Rule(
                code=f"grippe-{age}-ans",
                title="Vaccination contre la grippe saisonnière",
                category=Category.VACCINATION,
                start=Age(years=age),
                end=Age(years=age + 1),
                reason=(
                    "Recommandée chaque année à partir de 65 ans, lors de la campagne d’automne ; le vaccin est pris "
                    "en charge à 100 %."
                ),
                source=CALENDRIER_VACCINAL,
                vaccine="grippe saisonnière",
            )
        )
        rules.append(
            Rule(
                code=f"covid-{age}-ans",
                title="Vaccination contre le Covid-19",
                category=Category.VACCINATION,
                start=Age(years=age),
                end=Age(years=age + 1),
                reason=(
                    "Recommandée chaque automne à partir de 65 ans (et une dose au printemps à partir de 80 ans), "
                    "en même temps que la grippe si vous le souhaitez."
                ),
                source=CALENDRIER_VACCINAL,
                vaccine="Covid-19",
            )
        )
    rules += [
        Rule(
            code="zona-65-ans",
            title="Vaccination contre le zona",
            category=Category.VACCINATION,
            start=Age(years=65),
            end=Age(years=OLDEST),
            reason=(
                "Recommandée à partir de 65 ans (2 doses à deux mois d’intervalle) pour éviter le zona et ses "
                "douleurs."
            ),
            source=HAS_VACCINS_SENIORS,
            vaccine="zona",
        ),
        Rule(
            code="pneumocoque-65-ans",
            title="Vaccination contre le pneumocoque",
            category=Category.VACCINATION,
            start=Age(years=65),
            end=Age(years=OLDEST),
            reason="Recommandée à partir de 65 ans (une dose de vaccin conjugué) contre les pneumonies graves.",
            source=HAS_VACCINS_SENIORS,
            vaccine="pneumocoque",
        ),
        Rule(
            code="vrs-75-ans",
            title="Vaccination contre le virus respiratoire syncytial (VRS)",
            category=Category.VACCINATION,
            start=Age(years=75),
            end=Age(years=OLDEST),
            reason=(
                "Recommandée à partir de 75 ans, et dès 65 ans en cas de maladie respiratoire ou cardiaque "
                "chronique (parlez-en à votre médecin), avant l’hiver."
            ),
            source=HAS_VACCINS_SENIORS,
            vaccine="virus respiratoire syncytial (VRS)",
        ),
    ]
    return rules


CHILD_EXAM_REASON = (
    "Les 20 examens de l’enfant sont obligatoires et pris en charge à 100 % : ils suivent sa croissance, son "
    "développement, sa vue, son audition et ses vaccinations."
)


def _child_exams() -> list[Rule]:
    windows = [
        ("dans les 8 jours qui suivent la naissance (certificat de santé)", Age(days=0), Age(days=8)),
        ("au cours de la 2e semaine", Age(days=7), Age(days=14)),
        ("au cours du 2e mois", *_months(1, 2)),
        ("au cours du 3e mois", *_months(2, 3)),
        ("au cours du 4e mois", *_months(3, 4)),
        ("au cours du 5e mois", *_months(4, 5)),
        ("au cours du 6e mois", *_months(5, 6)),
        ("au cours du 9e mois (certificat de santé)", *_months(8, 9)),
        ("au cours du 12e mois", *_months(11, 12)),
        ("au cours du 13e mois", *_months(12, 13)),
        ("entre 16 et 18 mois", *_months(16, 19)),
        ("au cours du 24e ou du 25e mois (certificat de santé)", *_months(23, 25)),
        ("au cours de la 3e année", *_years(2, 3)),
        ("au cours de la 4e année", *_years(3, 4)),
        ("au cours de la 5e année", *_years(4, 5)),
        ("au cours de la 6e année", *_years(5, 6)),
        ("au cours de la 7e année", *_years(6, 7)),
        ("entre 8 et 9 ans", *_years(8, 10)),
        ("entre 11 et 13 ans", *_years(11, 14)),
        ("entre 15 et 16 ans", *_years(15, 17)),
    ]
    return [
        Rule(
            code=f"examen-enfant-{number}",
            title=f"Examen obligatoire de l’enfant n° {number} ({when.split(' (')[0]})",
            category=Category.CHILD_EXAM,
            start=start,
            end=end,
            reason=f"Examen n° {number} sur 20, {when}. {CHILD_EXAM_REASON}",
            source=EXAMENS_ENFANT,
            mandatory=True,
        )
        for number, (when, start, end) in enumerate(windows, start=1)
    ]


def _dental() -> list[Rule]:
    return [
        Rule(
            code=f"mt-dents-{age}-ans",
            title=f"Examen bucco-dentaire M’T dents ({age} ans)",
            category=Category.DENTAL,
            start=Age(years=age),
            end=Age(years=age + 1),
            reason=(
                "Tous les 3 ans de 3 à 24 ans, l’Assurance Maladie offre un examen chez le chirurgien-dentiste, "
                "sans avance de frais ; les soins qui suivent sont pris en charge à 100 %."
            ),
            source=MT_DENTS,
        )
        for age in range(3, 25, 3)
    ]


def _screenings() -> list[Rule]:
    rules = []
    for age in range(50, 75, 2):
        end = min(age + 2, 75)
        rules.append(
            Rule(
                code=f"depistage-sein-{age}-ans",
                title="Dépistage organisé du cancer du sein (mammographie)",
                category=Category.SCREENING,
                start=Age(years=age),
                end=Age(years=end),
                reason=(
                    "De 50 à 74 ans, une mammographie et un examen clinique des seins sont proposés tous les "
                    "deux ans, pris en charge à 100 %, sur invitation."
                ),
                source=DEPISTAGE_SEIN,
                sex="F",
            )
        )
        rules.append(
            Rule(
                code=f"depistage-colorectal-{age}-ans",
                title="Dépistage organisé du cancer colorectal (test immunologique)",
                category=Category.SCREENING,
                start=Age(years=age),
                end=Age(years=end),
                reason=(
                    "De 50 à 74 ans, un test à faire chez soi tous les deux ans, gratuit, à commander en ligne ou à "
                    "demander à votre médecin ou votre pharmacien."
                ),
                source=DEPISTAGE_COLORECTAL,
            )
        )
    cytology_reason = (
        "De 25 à 29 ans, le dépistage repose sur un examen cytologique : les deux premiers à un an d’intervalle, "
        "puis trois ans plus tard si les résultats sont normaux."
    )
    for age, end in ((25, 26), (26, 27), (29, 30)):
        rules.append(
            Rule(
                code=f"depistage-col-cytologie-{age}-ans",
                title="Dépistage du cancer du col de l’utérus (examen cytologique)",
                category=Category.SCREENING,
                start=Age(years=age),
                end=Age(years=end),
                reason=cytology_reason,
                source=DEPISTAGE_COL,
                sex="F",
            )
        )
    for age in range(30, 65, 5):
        end = 66 if age == 60 else age + 5
        rules.append(
            Rule(
                code=f"depistage-col-hpv-{age}-ans",
                title="Dépistage du cancer du col de l’utérus (test HPV)",
                category=Category.SCREENING,
                start=Age(years=age),
                end=Age(years=end),
                reason=(
                    "De 30 à 65 ans, un test HPV est recommandé tous les cinq ans (le premier trois ans après le "
                    "dernier examen cytologique normal)."
                ),
                source=DEPISTAGE_COL,
                sex="F",
            )
        )
    return rules


def _checkups() -> list[Rule]:
    return [
        Rule(
            code=f"bilan-prevention-{start}-{end}-ans",
            title=f"Mon bilan prévention ({start} à {end} ans)",
            category=Category.CHECKUP,
            start=Age(years=start),
            end=Age(years=end + 1),
            reason=(
                f"Entre {start} et {end} ans, un rendez-vous de prévention est offert avec un médecin, un infirmier, "
                "une sage-femme ou un pharmacien : habitudes de vie, dépistages et vaccinations à faire."
            ),
            source=BILAN_PREVENTION,
        )
        for start, end in ((18, 25), (45, 50), (60, 65), (70, 75))
    ]


RULES: tuple[Rule, ...] = tuple(
    _infant_vaccines() + _other_vaccines() + _child_exams() + _dental() + _screenings() + _checkups()
)
RULES_BY_CODE = {rule.code: rule for rule in RULES}


# --- Milestones ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Milestone:
    rule: Rule
    starts_on: datetime.date
    ends_on: datetime.date  # exclusive

    def timing(self, on: datetime.date) -> str:
        if on < self.starts_on:
            return "upcoming"
        if on < self.ends_on:
            return "due"
        return "overdue"

    @property
    def last_day(self) -> datetime.date:
        return self.ends_on - datetime.timedelta(days=1)


def milestone(rule: Rule, birth_date: datetime.date) -> Milestone:
    return Milestone(rule=rule, starts_on=rule.start.reached(birth_date), ends_on=rule.end.reached(birth_date))


def applies(rule: Rule, sex: str) -> bool:
    return rule.sex is None or rule.sex == sex


def milestones_for(birth_date: datetime.date, sex: str, on: datetime.date) -> list[Milestone]:
    """Milestones to show on `on`: due now, starting within a year, or closed less than two years ago."""
    horizon = on + datetime.timedelta(days=UPCOMING_HORIZON_DAYS)
    shown_after = on - datetime.timedelta(days=OVERDUE_SHOWN_DAYS)
    result = []
    for rule in RULES:
        if not applies(rule, sex):
            continue
        item = milestone(rule, birth_date)
        if item.starts_on > horizon or item.ends_on <= shown_after:
            continue
        result.append(item)
    return sorted(result, key=lambda m: (m.starts_on, m.rule.code))


def due_on(birth_date: datetime.date, sex: str, on: datetime.date) -> set[str]:
    """Codes of the rules due on `on` (the day the start age is reached up to the day before the end age)."""
    return {rule.code for rule in RULES if applies(rule, sex) and milestone(rule, birth_date).timing(on) == "due"}
