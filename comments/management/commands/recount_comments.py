from django.core.management.base import BaseCommand
from tqdm import tqdm

from comments import services


class Command(BaseCommand):
    help = (
        "Recompute comment, reply, like and open flag counts from their rows and report any drift repaired. "
        "Safe to run on a live site: comments posted meanwhile are counted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=10_000, help="rows per batch (default 10,000)")

    def handle(self, *args, batch_size, verbosity, **options):
        progress = _Bars(self.stderr) if verbosity > 0 else None
        try:
            drifted = services.recount_comments(batch_size=batch_size, progress=progress)
            fixed = services.recount_likes_and_flags(batch_size=batch_size, progress=progress)
        finally:
            if progress:
                progress.close()
        for drift in drifted:
            self.stdout.write(f"article {drift.article_key}: stored {drift.stored}, actual {drift.actual} (repaired)")
        self.stdout.write(
            f"{len(drifted)} article count(s) repaired; {fixed['like_count']} like count(s), "
            f"{fixed['open_flag_count']} flag count(s) repaired."
        )


class _Bars:
    """One tqdm bar per counter, on the command's stderr (stdout keeps the report)."""

    def __init__(self, stream):
        self.stream, self.bars = stream, {}

    def __call__(self, label: str, rows: int, total: int) -> None:
        if label not in self.bars:
            self.close()  # the previous counter is done
            self.bars[label] = tqdm(total=total, desc=label, unit=" rows", file=self, leave=True)
        self.bars[label].update(rows)

    def write(self, text: str) -> None:  # tqdm's file: Django's OutputWrapper would end each write with "\n"
        self.stream.write(text, ending="")

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
