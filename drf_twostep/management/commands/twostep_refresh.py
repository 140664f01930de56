from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from drf_twostep import enforcement


class Command(BaseCommand):
    help = (
        "Recompute the enforcement state of users from their organizations' policies and "
        "their methods: after changing memberships in ways that send no signal (bulk_create, "
        "update(), raw SQL). Without usernames, every user who has or had a requirement."
    )

    def add_arguments(self, parser):
        parser.add_argument("usernames", nargs="*", help="Refresh only these users.")

    def handle(self, *args, usernames, **options):
        if not usernames:
            count = enforcement.refresh_all()
            self.stdout.write(f"Refreshed the enforcement state of {count} user(s).")
            return
        User = get_user_model()
        users = list(User._default_manager.filter(**{f"{User.USERNAME_FIELD}__in": usernames}))
        missing = sorted(set(usernames) - {user.get_username() for user in users})
        if missing:
            raise CommandError(f"No user {', '.join(map(repr, missing))}.")
        enforcement.refresh_users([user.pk for user in users])
        self.stdout.write(f"Refreshed the enforcement state of {len(users)} user(s).")
