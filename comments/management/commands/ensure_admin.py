import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from comments import services


class Command(BaseCommand):
    help = "On first run, create a superuser with a random password printed once; later, do nothing."

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@example.com")

    def handle(self, *args, email, **options):
        user_model = get_user_model()
        if user_model._default_manager.filter(is_superuser=True).exists():
            return
        password = secrets.token_urlsafe(12)
        # Whatever the site's user model calls its login field: "username" for auth.User, often
        # "email" for a custom one; the email goes in its own field when the model has one.
        login_field, email_field = user_model.USERNAME_FIELD, user_model.get_email_field_name()
        login = email if login_field == email_field else "admin"
        fields = {login_field: login}
        if email_field != login_field and email_field in {f.name for f in user_model._meta.get_fields()}:
            fields[email_field] = email
        user = user_model._default_manager.create_superuser(password=password, **fields)
        services.set_reader_display_name(reader=user, display_name="Moderator")
        line = "=" * 64
        self.stdout.write(
            f"{line}\nAdmin account created (shown only this once):\n"
            f"  sign in at /admin/ on this site\n  {login_field}: {login}\n  password: {password}\n{line}"
        )
