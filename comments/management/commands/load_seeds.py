from django.core.management.base import BaseCommand

from comments.seeding import SEEDS_DIR, load_seed_articles


class Command(BaseCommand):
    help = "Load the seed articles in seeds/ (idempotent: upserts by article key)."

    def handle(self, *args, **options):
        result = load_seed_articles()
        self.stdout.write(f"Seeds from {SEEDS_DIR}: {result.created} created, {result.updated} already present.")
