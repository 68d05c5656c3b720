"""Seed data: articles kept as JSON files in ``seeds/``, loaded idempotently through services."""

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings

from comments import services

SEEDS_DIR = Path(settings.BASE_DIR) / "seeds"


@dataclass(frozen=True)
class SeedResult:
    created: int
    updated: int


def load_seed_articles(directory: Path = SEEDS_DIR) -> SeedResult:
    """Upsert every ``seeds/*.json`` article by key; running twice changes nothing."""
    created = updated = 0
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        _, was_created = services.upsert_article(
            key=data["key"],
            title=data["title"],
            url=data.get("url", ""),
            published_at=datetime.fromisoformat(data["published_at"]),
            comments_open=data.get("comments_open", True),
            body="\n\n".join(data.get("paragraphs", [])),
        )
        created += was_created
        updated += not was_created
    return SeedResult(created, updated)
