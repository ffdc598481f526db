from django.core.management.base import BaseCommand

from vaults.crypto import keyring
from vaults.services import credentials_reencrypt


class Command(BaseCommand):
    help = "Re-encrypt every stored credential secret with the newest vault key (after a rotation)."

    def handle(self, *args, **options):
        moved = credentials_reencrypt()
        self.stdout.write(f"Re-encrypted {moved} credential secret(s) with key {keyring().current.kid}.")
