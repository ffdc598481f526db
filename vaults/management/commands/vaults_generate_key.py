from django.core.management.base import BaseCommand

from vaults.crypto import generate_key_line


class Command(BaseCommand):
    help = (
        "Print a new vault key line (kid:base64). Put it FIRST in OPENINTENT_VAULT_KEYS (or the key "
        "file), keep the old keys after it, then run `manage.py vaults_reencrypt`."
    )

    def handle(self, *args, **options):
        self.stdout.write(generate_key_line())
