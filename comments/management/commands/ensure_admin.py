import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "On first run, create a superuser with a random password printed once; later, do nothing."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@example.com")

    def handle(self, *args, email, **options):
        reader_model = get_user_model()
        if reader_model.objects.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        reader_model.objects.create_superuser(
            username="admin", email=email, password=password, display_name="Moderator"
        )
        line = "=" * 64
        self.stdout.write(
            f"{line}\nAdmin account created (shown only this once):\n"
            f"  sign in at /admin/ on this site\n  username: admin\n  password: {password}\n{line}"
        )
