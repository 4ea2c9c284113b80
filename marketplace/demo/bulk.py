"""Synthetic catalogs of any size, for benchmarks (`manage.py seed_bulk`; dev-only)."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from marketplace.catalog.services import service_bulk_create
from marketplace.models import PricingModel, Service, ServiceType
from payments.models import Participant
from payments.wallets import normalize_address
from reputation.models import ReputationScore

TOPICS = (
    "seo",
    "wordpress",
    "security",
    "ssl",
    "dns",
    "email",
    "uptime",
    "analytics",
    "pdf",
    "translation",
    "logo",
    "branding",
    "copywriting",
    "blog",
    "newsletter",
    "backlinks",
    "keyword",
    "competitor",
    "pricing",
    "invoice",
    "tax",
    "contract",
    "gdpr",
    "privacy",
    "kubernetes",
    "docker",
    "terraform",
    "aws",
    "database",
    "postgres",
    "api",
    "webhook",
    "scraping",
    "sentiment",
    "weather",
    "geocoding",
    "currency",
    "stock",
    "crypto",
    "wallet",
    "solidity",
    "audit",
    "penetration",
    "malware",
    "phishing",
    "accessibility",
    "performance",
    "lighthouse",
    "image",
    "video",
    "podcast",
    "transcription",
    "subtitles",
    "ocr",
    "resume",
    "recruiting",
    "legal",
    "patent",
    "trademark",
    "market",
    "survey",
    "research",
    "dataset",
    "classification",
    "summarization",
    "chatbot",
    "shopify",
    "woocommerce",
    "magento",
    "migration",
    "backup",
    "monitoring",
    "logging",
    "cdn",
    "caching",
    "compression",
    "icons",
    "illustration",
    "animation",
    "presentation",
    "spreadsheet",
    "bookkeeping",
    "payroll",
)
NOUNS = (
    "audit",
    "check",
    "report",
    "lookup",
    "scan",
    "review",
    "analysis",
    "fix",
    "setup",
    "migration",
    "optimization",
    "monitor",
    "generator",
    "extraction",
    "conversion",
    "validation",
    "consultation",
    "cleanup",
    "design",
    "writing",
    "translation",
    "summary",
)
ADJECTIVES = (
    "fast",
    "deep",
    "instant",
    "expert",
    "automated",
    "complete",
    "quick",
    "premium",
    "weekly",
    "on-demand",
    "enterprise",
    "lightweight",
    "detailed",
    "realtime",
    "manual",
)
FILLER = (
    "we",
    "deliver",
    "your",
    "site",
    "team",
    "results",
    "within",
    "hours",
    "using",
    "proven",
    "tools",
    "and",
    "human",
    "review",
    "every",
    "request",
    "includes",
    "clear",
    "steps",
    "pricing",
    "support",
    "agents",
    "data",
    "quality",
    "secure",
    "reliable",
    "structured",
    "json",
    "output",
    "checks",
    "coverage",
    "issues",
    "recommendations",
    "priority",
)
CATEGORIES = (
    "seo",
    "wordpress",
    "security",
    "data",
    "content",
    "design",
    "devops",
    "finance",
    "legal",
    "research",
    "marketing",
    "translation",
)
_TIERS = {
    ServiceType.DATA_API: (1_000, 1_000_000),
    ServiceType.AUTOMATED_SERVICE: (500_000, 10_000_000),
    ServiceType.HUMAN_SERVICE: (25_000_000, 1_000_000_000),
}


def seed_bulk(count: int, *, seed: int = 42, providers: int | None = None) -> int:
    """Create `count` varied services spread over synthetic providers with varied scores."""
    rng = random.Random(seed)
    provider_count = providers or max(5, count // 100)
    start = Participant.objects.count()
    participants = Participant.objects.bulk_create(
        [
            Participant(
                wallet=normalize_address("0x" + f"{start + i + 1:040x}"),
                name=f"Bulk Provider {start + i + 1}",
                type=Participant.Type.PROVIDER,
            )
            for i in range(provider_count)
        ]
    )
    participants = list(Participant.objects.filter(wallet__in=[p.wallet for p in participants]))
    ReputationScore.objects.bulk_create(
        [
            ReputationScore(
                participant=p,
                composite=round(rng.uniform(35, 99), 1),
                quality=round(rng.uniform(35, 99), 1),
                speed=round(rng.uniform(35, 99), 1),
                reliability=round(rng.uniform(35, 99), 1),
                communication=round(rng.uniform(35, 99), 1),
                confidence=round(rng.random(), 2),
                total_jobs=(total := rng.randint(0, 500)),
                completed_jobs=rng.randint(0, total),
            )
            for p in participants
        ]
    )
    now = timezone.now()
    services: list[Service] = []
    for i in range(count):
        service_type = rng.choice(list(ServiceType))
        low, high = _TIERS[service_type]
        quoted = service_type == ServiceType.HUMAN_SERVICE and rng.random() < 0.7
        price = rng.randint(low, high)
        # Each topic word ends up in about 3% of listings (its own name, plus mentions in
        # other listings' descriptions and tags), as in a catalog spread over many trades.
        topic = rng.choice(TOPICS)
        words = [rng.choice(FILLER) for _ in range(rng.randint(25, 60))]
        for _ in range(rng.randint(1, 2)):
            words[rng.randrange(len(words))] = rng.choice(TOPICS)
        services.append(
            Service(
                provider=rng.choice(participants),
                name=" ".join(
                    w.title() for w in (rng.choice(ADJECTIVES), topic, rng.choice(NOUNS))
                ),
                description=" ".join(words).capitalize() + ".",
                category=rng.choice(CATEGORIES),
                tags=sorted({topic, rng.choice(TOPICS), rng.choice(NOUNS)}),
                service_type=service_type,
                pricing_model=PricingModel.QUOTE_REQUIRED if quoted else PricingModel.FIXED,
                price_micros=price,
                price_max_micros=price * rng.randint(2, 5) if quoted else None,
                estimated_delivery=rng.choice(["instant", "10 minutes", "48h", "3-5 days"]),
                listed_at=now - timedelta(minutes=count - i),
            )
        )
    return service_bulk_create(services)
