"""A synthetic registry file for `manage.py import_assures`, fast enough for millions of rows.

No Faker and no per-field Python logic where it can be avoided: each block of rows is built column by
column (`random.choices` over pools of ready-made strings, C speed), then joined with `map(",".join,
zip(*columns))`. Only the NIR (its key depends on the row's own digits) and the card holder of a child
are computed per row. About 6–8 s per million rows on one core.

Shares (per data row, deterministic for a given seed):
- 20 % children (born less than 18 years ago) attached to a card holder that appears EARLIER in the file
  (`nir_ouvrant_droit`), picked among the last few thousand valid adults: families sit close together.
- 30 % without e-mail: every child (they are reached through their card holder) and 12.5 % of adults.
- ~1 % bad rows, one third each: NIR with a wrong key, impossible birth date, unknown card type. A bad row
  is never used as a card holder, so it causes no second rejection.

NIRs are unique: sex, year and month of birth, then the département and a 6-digit serial taken from the row
index (`département = DEPTS[i % 95]`, serial `i // 95`), key `97 - n % 97`. The lieu de naissance is the
NIR's département and commune.
"""

import datetime
import random
import unicodedata
from pathlib import Path

from activation.services.registry import COLUMNS

GENERATOR_VERSION = 1  # bump when the content changes: cached files are keyed by it
BLOCK = 20_000
CHILD_SHARE = 0.20
NO_EMAIL_SHARE = 0.30
BAD_SHARE = 0.01
HOLDER_POOL = 4_000

LAST_NAMES = (
    "Martin Bernard Thomas Petit Robert Richard Durand Dubois Moreau Laurent Simon Michel Lefèvre Leroy Roux "
    "David Bertrand Morel Fournier Girard Bonnet Dupont Lambert Fontaine Rousseau Vincent Muller Lefebvre Faure "
    "André Mercier Blanc Guérin Boyer Garnier Chevalier François Legrand Gauthier Garcia Perrin Robin Clément "
    "Morin Nicolas Henry Roussel Mathieu Gautier Masson Marchand Duval Denis Dumont Marie Lemaire Noël Meyer "
    "Dufour Meunier Brun Blanchard Giraud Joly Rivière Lucas Brunet Gaillard Barbier Arnaud Martinez Gérard "
    "Roche Renard Schmitt Roy Leroux Colin Vidal Caron Picard Roger Fabre Aubert Lemoine Renaud Dumas Lacroix "
    "Olivier Philippe Bourgeois Pierre Benoît Rey Leclerc Payet Rolland Leclercq Guillaume Lecomte López Jean"
).split()
MALE_NAMES = (
    "Jean Pierre Michel André Philippe Alain Bernard Jacques Patrick Daniel Nicolas Christophe Éric Frédéric "
    "Laurent Stéphane David Julien Sébastien Thomas Olivier Pascal Lucas Léo Hugo Gabriel Louis Arthur Raphaël "
    "Jules Adam Noé Mathis Théo Nathan Ethan Paul Maël Sacha Noah Tom Timéo Mohamed Yanis Karim Joël Gaëtan"
).split()
FEMALE_NAMES = (
    "Marie Nathalie Isabelle Sylvie Catherine Françoise Martine Christine Monique Valérie Sandrine Céline "
    "Sophie Stéphanie Julie Aurélie Émilie Camille Léa Manon Chloé Emma Jade Louise Alice Lina Rose Anna Mila "
    "Ambre Inès Zoé Léna Juliette Lou Agathe Margaux Hélène Noémie Anaïs Océane Maëlle Clémence Élodie Nadia"
).split()
STREETS = (
    "rue de la Paix|avenue Jean Jaurès|rue Victor Hugo|boulevard Pasteur|place de la République|rue du Moulin|"
    "chemin des Vignes|allée des Tilleuls|rue de l’Église|impasse des Lilas|rue Gambetta|avenue de la Gare|"
    "rue des Écoles|route de Toulouse|rue Nationale|quai Saint-Pierre|rue du Général Leclerc|rue Pasteur"
).split("|")
CITIES = [
    ("75011", "Paris"),
    ("13001", "Marseille"),
    ("69003", "Lyon"),
    ("31000", "Toulouse"),
    ("06000", "Nice"),
    ("44000", "Nantes"),
    ("34000", "Montpellier"),
    ("67000", "Strasbourg"),
    ("33000", "Bordeaux"),
    ("59000", "Lille"),
    ("35000", "Rennes"),
    ("51100", "Reims"),
    ("83000", "Toulon"),
    ("42000", "Saint-Étienne"),
    ("76600", "Le Havre"),
    ("38000", "Grenoble"),
    ("21000", "Dijon"),
    ("49000", "Angers"),
    ("30000", "Nîmes"),
    ("63000", "Clermont-Ferrand"),
    ("80000", "Amiens"),
    ("87000", "Limoges"),
    ("97400", "Saint-Denis"),
    ("2A004", "Ajaccio"),  # postal code 20000 in reality; kept to a valid 5-digit code below
    ("64000", "Pau"),
    ("29200", "Brest"),
    ("57000", "Metz"),
    ("37000", "Tours"),
    ("45000", "Orléans"),
    ("14000", "Caen"),
]
CITIES = [(code if code.isdigit() else "20000", city) for code, city in CITIES]
DEPTS = [f"{d:02d}" for d in range(1, 96) if d != 20] + ["97"]  # 95 codes, digits only (no 2A/2B)
assert len(DEPTS) == 95


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().replace("’", "")


def _dates(first: datetime.date, last: datetime.date) -> list[str]:
    days = (last - first).days
    return [(first + datetime.timedelta(days=offset)).isoformat() for offset in range(days + 1)]


def default_path(folder: Path, rows: int, seed: int) -> Path:
    return folder / f"registry-{rows}-s{seed}-v{GENERATOR_VERSION}.csv"


def generate(path: Path, rows: int, *, seed: int = 20260101) -> dict:
    """Write `rows` data rows (+ header) to `path`; returns the counts of each kind of row."""
    rng = random.Random(seed)
    today = datetime.datetime.now(datetime.UTC).date()
    adult_dates = _dates(datetime.date(1930, 1, 1), today.replace(year=today.year - 19))
    child_dates = _dates(today.replace(year=today.year - 17), today - datetime.timedelta(days=30))
    last_ascii = {name: _ascii(name) for name in LAST_NAMES}
    first_ascii = {name: _ascii(name) for name in MALE_NAMES + FEMALE_NAMES}
    male_pairs = [f"{a} {b}" for a in MALE_NAMES for b in MALE_NAMES if a != b]
    female_pairs = [f"{a} {b}" for a in FEMALE_NAMES for b in FEMALE_NAMES if a != b]
    phones = [f"0{rng.choice('67')} {rng.randrange(100):02d} {rng.randrange(100):02d} "
              f"{rng.randrange(100):02d} {rng.randrange(100):02d}" for _ in range(5000)]  # fmt: skip
    addresses = [f"{number} {street}" for number in range(1, 200) for street in STREETS]
    card_types = ["avec_photo"] * 4 + ["sans_photo"]
    adult_no_email = (NO_EMAIL_SHARE - CHILD_SHARE) / (1 - CHILD_SHARE)
    holders: list[str] = []  # the last HOLDER_POOL valid adults, as candidate card holders
    counts = {"rows": 0, "children": 0, "without_email": 0, "bad_nir_key": 0, "bad_date": 0, "bad_card_type": 0}
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(COLUMNS) + "\n")
        for start in range(0, rows, BLOCK):
            size = min(BLOCK, rows - start)
            draws = [rng.random() for _ in range(size)]
            sexes = rng.choices("MF", k=size)
            names = rng.choices(LAST_NAMES, k=size)
            firsts_m = rng.choices(male_pairs, k=size)
            firsts_f = rng.choices(female_pairs, k=size)
            firsts = [m if s == "M" else f for s, m, f in zip(sexes, firsts_m, firsts_f, strict=True)]
            adult_born = rng.choices(adult_dates, k=size)
            child_born = rng.choices(child_dates, k=size)
            city_rows = rng.choices(CITIES, k=size)
            phone_col = rng.choices(phones, k=size)
            address_col = rng.choices(addresses, k=size)
            card_col = rng.choices(card_types, k=size)
            email_draws = [rng.random() for _ in range(size)]
            nir_col, born_col, email_col, holder_col, insee_col, serial_col = [], [], [], [], [], []
            for offset in range(size):
                index = start + offset
                draw = draws[offset]
                child = draw < CHILD_SHARE and len(holders) > 100
                bad = not child and draw > 1 - BAD_SHARE
                born = child_born[offset] if child else adult_born[offset]
                dept = DEPTS[index % 95]
                serial6 = f"{index // 95:06d}"
                base = f"{1 if sexes[offset] == 'M' else 2}{born[2:4]}{born[5:7]}{dept}{serial6}"
                key = 97 - int(base) % 97
                if bad and offset % 3 == 0:
                    key = key % 97 + 1  # wrong key, still two digits
                    counts["bad_nir_key"] += 1
                nir = f"{base}{key:02d}"
                if bad and offset % 3 == 1:
                    born = f"{born[:4]}-02-30"
                    counts["bad_date"] += 1
                if bad and offset % 3 == 2:
                    card_col[offset] = "platine"
                    counts["bad_card_type"] += 1
                if child:
                    holder_col.append(holders[int(email_draws[offset] * len(holders))])
                    email_col.append("")
                    counts["children"] += 1
                else:
                    holder_col.append("")
                    if email_draws[offset] < adult_no_email:
                        email_col.append("")
                    else:
                        first = firsts[offset].split(" ", 1)[0]
                        email_col.append(f"{first_ascii[first]}.{last_ascii[names[offset]]}{index}@example.org")
                    if not bad:
                        holders.append(nir)
                nir_col.append(nir)
                born_col.append(born)
                insee_col.append(f"{dept}{serial6[:3]}")
                serial_col.append(f"80250{index:015d}")
            if len(holders) > 2 * HOLDER_POOL:
                del holders[:-HOLDER_POOL]
            counts["without_email"] += email_col.count("")
            counts["rows"] += size
            columns = [
                nir_col,
                names,
                firsts,
                born_col,
                sexes,
                insee_col,
                email_col,
                phone_col,
                address_col,
                [code for code, _ in city_rows],
                [city for _, city in city_rows],
                card_col,
                serial_col,
                holder_col,
            ]
            handle.write("\n".join(map(",".join, zip(*columns, strict=True))))
            handle.write("\n")
    partial.replace(path)
    counts["bad"] = counts["bad_nir_key"] + counts["bad_date"] + counts["bad_card_type"]
    return counts
