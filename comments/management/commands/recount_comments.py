from django.core.management.base import BaseCommand

from comments import services


class Command(BaseCommand):
    help = "Recompute comment counts from the comments table and report any drift repaired."

    def handle(self, *args, **options):
        drifted = services.recount_comments()
        for drift in drifted:
            self.stdout.write(f"article {drift.article_key}: stored {drift.stored}, actual {drift.actual} (repaired)")
        fixed = services.recount_likes_and_flags()
        self.stdout.write(
            f"{len(drifted)} article count(s) repaired; {fixed['like_count']} like count(s), "
            f"{fixed['open_flag_count']} flag count(s) repaired."
        )
