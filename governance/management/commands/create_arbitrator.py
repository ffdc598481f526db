"""Create (or update) a user who may use the review screens: a member of the arbitrators
group (settings.ARBITRATOR_GROUP), which holds ``governance.review_governance``.

    manage.py create_arbitrator alice --password s3cret
    manage.py create_arbitrator bob --password s3cret --no-arbitrator   # a plain user
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Create or update an arbitrator user for the /review/ screens."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--password", required=True)
        parser.add_argument("--no-arbitrator", action="store_true", help="create a user without the permission")

    def handle(self, *args, username, password, no_arbitrator, **options):
        user, _ = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_active = True
        user.save()
        if not no_arbitrator:
            group, _ = Group.objects.get_or_create(name=settings.ARBITRATOR_GROUP)
            group.permissions.add(Permission.objects.get(codename="review_governance", content_type__app_label="governance"))
            user.groups.add(group)
        self.stdout.write(f"{'arbitrator' if not no_arbitrator else 'user'} {username} ready")
