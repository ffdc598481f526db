from django.core.management.base import BaseCommand

from triggers.secrets import secrets_reencrypt
from vaults.crypto import keyring
from vaults.services import credentials_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every stored secret (credentials, trigger webhook secrets) with the newest vault key."

    def handle(self, *args, **options):
        credentials = credentials_reencrypt()
        triggers = secrets_reencrypt()
        self.stdout.write(
            f"Re-encrypted {credentials} credential secret(s) and {triggers} trigger secret(s) "
            f"with key {keyring().current.kid}."
        )
