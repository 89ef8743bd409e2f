import importlib
from base64 import b32encode
from binascii import unhexlify

from django.core.management.base import BaseCommand

from accounts.demo import DEMO_PASSWORD, TOTP_KEYS, seed


class Command(BaseCommand):
    help = "Create the demo personas (idempotent) and print how to log in as each."

    def handle(self, *args, **options) -> None:
        personas = seed()
        for app in ("dossier", "profil", "messagerie", "agenda", "catalogue"):
            try:
                module = importlib.import_module(f"{app}.demo")
            except ModuleNotFoundError:
                continue
            module.seed_demo(personas)  # each app adds its demo data, idempotently
        rows = [
            ("Patiente adulte", "camille.lefevre", "code par e-mail (var/mails/)"),
            ("Parent de Léo et Emma", "julien.moreau", "code par e-mail (var/mails/)"),
            ("Tutrice de Bernard Petit", "sophie.petit", "application TOTP"),
            ("Médecin généraliste (médecin traitant)", "dr.martin", "application TOTP, /pro/connexion/"),
            ("Pharmacien", "pharmacien.leroy", "application TOTP, /pro/connexion/"),
            ("Masseur-kinésithérapeute", "kine.bernard", "application TOTP, /pro/connexion/"),
            ("Médecin régulateur du SAMU (centre 15)", "dr.regulateur", "application TOTP, /pro/connexion/"),
            ("Conseillère CPAM", "agent.cpam", "application TOTP, /admin/"),
            ("Conseiller France services", "agent.franceservices", "application TOTP, /admin/"),
            ("Superviseure CPAM", "agent.superviseur", "application TOTP, /admin/"),
        ]
        self.stdout.write(f"Demo personas ready ({personas.camille.display_name} and 12 others).")
        self.stdout.write(f"Password for every account: {DEMO_PASSWORD}")
        for label, username, factor in rows:
            secret = ""
            if username in TOTP_KEYS:
                secret = "  TOTP secret " + b32encode(unhexlify(TOTP_KEYS[username])).decode()
            self.stdout.write(f"  {label:<40} {username:<22} {factor}{secret}")
