"""Demo catalog for the402: providers and the services they sell.

Pure data, no Django imports. Used to seed a fresh installation with a believable marketplace:
ten providers with distinct specialities (SEO, WordPress, security, data APIs, content and
translation, design, devops, finance and legal research, web3 audits, marketing) and their
listings across all three service types and both pricing models.

Prices are the provider's price in USD as decimal strings (at most 6 decimal places). Fixed-price
services set ``price``; quote-required services set ``price_min`` and ``price_max`` instead.
``input_schema`` and ``deliverable_schema`` are JSON Schema (draft 2020-12) objects.
Wallet addresses are made-up, deterministic placeholders, not real accounts.
"""

from __future__ import annotations

from typing import Any, TypedDict


class DemoProvider(TypedDict):
    key: str  # short slug, referenced by DemoService["provider"]
    name: str
    description: str
    wallet: str  # "0x" + 40 lowercase hex chars, unique per provider
    type: str  # "provider" or "both"


class DemoService(TypedDict, total=False):
    provider: str  # DemoProvider["key"]
    name: str  # <= 100 chars, unique
    description: str
    category: str  # lowercase slug
    tags: list[str]
    service_type: str  # "data_api" | "automated_service" | "human_service"
    pricing_model: str  # "fixed" | "quote_required"
    price: str  # fixed pricing only
    price_min: str  # quote_required only
    price_max: str  # quote_required only
    estimated_delivery: str
    input_schema: dict[str, Any]
    deliverable_schema: dict[str, Any]


PROVIDERS: list[DemoProvider] = [
    {
        "key": "rankwise",
        "name": "Rankwise SEO Labs",
        "description": (
            "A technical SEO shop that turns crawls, SERP data and backlink graphs into "
            "prioritized fixes. Fast data lookups for agents, senior strategists for the hard "
            "cases."
        ),
        "wallet": "0x7e8627b165ad47ab256466ba99031a86f849504e",
        "type": "provider",
    },
    {
        "key": "pressforge",
        "name": "PressForge WordPress Studio",
        "description": (
            "A WordPress agency that has maintained more than 1,200 sites since 2014. Content "
            "edits, plugin firefighting, speed work and migrations, done by real developers."
        ),
        "wallet": "0x246986c8c9081ecaa175b48c93bcc8bfda2f3dd6",
        "type": "provider",
    },
    {
        "key": "bastion",
        "name": "Bastion Security Group",
        "description": (
            "An offensive-security firm of OSCP- and OSWE-certified testers. Automated scanners "
            "for the routine checks, manual penetration testing when it matters."
        ),
        "wallet": "0xf98391e85a38b3567630e8353ee01d2efc9ec996",
        "type": "provider",
    },
    {
        "key": "datapoint",
        "name": "Datapoint APIs",
        "description": (
            "Low-latency lookup APIs for the open web: DNS, WHOIS, email, IP and company data, "
            "plus rendering and document extraction, metered per call."
        ),
        "wallet": "0xee32a8767ebc73ed89dde6ebd5efa8ff5a985e39",
        "type": "provider",
    },
    {
        "key": "polyglot",
        "name": "Polyglot Content Studio",
        "description": (
            "Writers, editors and native-speaker translators in 40+ languages. Also buys "
            "research and data services from other agents to feed its own pipelines."
        ),
        "wallet": "0x3a184bc9eae9cb7e6e1ae5a79450401050ff0ad6",
        "type": "both",
    },
    {
        "key": "pixelnorth",
        "name": "Pixel North Design",
        "description": (
            "A small brand and interface design studio from Oslo. Logos, identity systems and "
            "landing pages, plus automated image utilities for quick jobs."
        ),
        "wallet": "0x5bd4db5bcb6d7770d42847e0c26a59a21f298d4d",
        "type": "provider",
    },
    {
        "key": "stackops",
        "name": "StackOps Cloud",
        "description": (
            "Site reliability engineers for hire: monitoring probes, infrastructure as code, "
            "Kubernetes and CI/CD pipelines on AWS, GCP and Hetzner."
        ),
        "wallet": "0x07df26000baa788942514f346fc7a832da8671d1",
        "type": "provider",
    },
    {
        "key": "ledgerlex",
        "name": "Ledger & Lex Research",
        "description": (
            "Financial analysts and privacy lawyers working side by side. Market data, filing "
            "summaries, compliance screening and contract review for startups."
        ),
        "wallet": "0xb468997898cf4c4888cee4a57c329d653c5b00e2",
        "type": "both",
    },
    {
        "key": "chainproof",
        "name": "ChainProof Audits",
        "description": (
            "Smart contract auditors focused on EVM chains, with more than 300 audited "
            "protocols. On-chain risk data for agents and full manual reviews for teams."
        ),
        "wallet": "0xc8f54b07f52b78f6c17707ee667c6d21c15cdf70",
        "type": "provider",
    },
    {
        "key": "signalhouse",
        "name": "Signal House Marketing",
        "description": (
            "A growth marketing collective: copywriters, media buyers and conversion "
            "specialists who ship campaigns in days, not quarters."
        ),
        "wallet": "0x447c8ff2a30fb72ad5579b4f956e8f05ed4cb367",
        "type": "provider",
    },
]

SERVICES: list[DemoService] = [
    # -------------------- Rankwise SEO Labs (rankwise)
    {
        "provider": "rankwise",
        "name": "Technical SEO Audit",
        "description": (
            "Crawls up to 500 pages of a site and checks the things search engines trip over: "
            "broken links, redirect chains, duplicate titles, missing canonicals, noindex "
            "mistakes, slow pages and thin content. Every issue comes with the affected URLs "
            "and a severity so an agent can fix the worst problems first."
        ),
        "category": "seo",
        "tags": ["seo", "audit", "crawl", "technical-seo"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "4.00",
        "estimated_delivery": "10 minutes",
        "input_schema": {
            "type": "object",
            "required": ["site_url"],
            "properties": {
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Public URL of the site, e.g. https://example.com",
                },
                "max_pages": {
                    "type": "integer",
                    "description": "Maximum number of pages to crawl",
                    "minimum": 10,
                    "maximum": 500,
                    "default": 200,
                },
                "user_agent": {
                    "type": "string",
                    "enum": ["googlebot", "bingbot", "desktop"],
                    "description": "Crawler identity to use",
                    "default": "googlebot",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["score", "issues"],
            "properties": {
                "score": {
                    "type": "integer",
                    "description": "Overall technical health score",
                    "minimum": 0,
                    "maximum": 100,
                },
                "pages_crawled": {
                    "type": "integer",
                    "description": "Number of pages actually crawled",
                },
                "issues": {
                    "type": "array",
                    "description": "Problems found, most severe first",
                    "items": {
                        "type": "object",
                        "description": "One issue",
                        "required": ["code", "severity", "urls"],
                        "properties": {
                            "code": {
                                "type": "string",
                                "description": "Stable issue identifier, e.g. missing_canonical",
                            },
                            "severity": {
                                "type": "string",
                                "enum": ["critical", "warning", "notice"],
                                "description": "How much the issue hurts rankings",
                            },
                            "message": {
                                "type": "string",
                                "description": "Human-readable explanation",
                            },
                            "urls": {
                                "type": "array",
                                "description": "Affected URLs",
                                "items": {"type": "string", "format": "uri"},
                            },
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "rankwise",
        "name": "Keyword Difficulty Lookup",
        "description": (
            "Returns monthly search volume, keyword difficulty (0-100), cost-per-click and "
            "search intent for a single keyword in a given country. Data is refreshed weekly "
            "from our own SERP panel."
        ),
        "category": "seo",
        "tags": ["seo", "keyword", "serp"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.02",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["keyword"],
            "properties": {
                "keyword": {
                    "type": "string",
                    "description": "The search phrase to look up",
                    "minLength": 1,
                    "maxLength": 200,
                },
                "country": {
                    "type": "string",
                    "description": "ISO 3166-1 alpha-2 country code",
                    "pattern": "^[A-Z]{2}$",
                    "default": "US",
                },
                "language": {
                    "type": "string",
                    "description": "ISO 639-1 language code",
                    "default": "en",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["keyword", "volume", "difficulty"],
            "properties": {
                "keyword": {"type": "string", "description": "The keyword that was looked up"},
                "volume": {
                    "type": "integer",
                    "description": "Estimated monthly searches",
                    "minimum": 0,
                },
                "difficulty": {
                    "type": "integer",
                    "description": "Ranking difficulty",
                    "minimum": 0,
                    "maximum": 100,
                },
                "cpc_usd": {"type": "number", "description": "Average cost per click in USD"},
                "intent": {
                    "type": "string",
                    "enum": ["informational", "navigational", "commercial", "transactional"],
                    "description": "Dominant search intent",
                },
            },
        },
    },
    {
        "provider": "rankwise",
        "name": "Backlink Profile Snapshot",
        "description": (
            "Summarizes the backlinks pointing at a domain: referring domains, follow/nofollow "
            "split, top anchors and the 20 strongest linking pages. A quick pre-audit check "
            "before deciding whether a link cleanup is worth paying for."
        ),
        "category": "seo",
        "tags": ["seo", "backlinks", "links", "authority"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.25",
        "estimated_delivery": "< 2 seconds",
        "input_schema": {
            "type": "object",
            "required": ["domain"],
            "properties": {
                "domain": {
                    "type": "string",
                    "description": "Domain to analyze, without scheme, e.g. example.com",
                    "format": "hostname",
                },
                "include_subdomains": {
                    "type": "boolean",
                    "description": "Count links to all subdomains too",
                    "default": True,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["domain", "referring_domains", "total_backlinks"],
            "properties": {
                "domain": {"type": "string", "description": "The analyzed domain"},
                "referring_domains": {
                    "type": "integer",
                    "description": "Unique domains linking in",
                    "minimum": 0,
                },
                "total_backlinks": {
                    "type": "integer",
                    "description": "Total backlinks found",
                    "minimum": 0,
                },
                "nofollow_ratio": {
                    "type": "number",
                    "description": "Share of nofollow links",
                    "minimum": 0,
                    "maximum": 1,
                },
                "top_anchors": {
                    "type": "array",
                    "description": "Most common anchor texts",
                    "items": {"type": "string"},
                    "maxItems": 10,
                },
                "top_pages": {
                    "type": "array",
                    "description": "Strongest linking pages",
                    "items": {
                        "type": "object",
                        "description": "A linking page",
                        "properties": {
                            "url": {"type": "string", "format": "uri"},
                            "authority": {"type": "integer", "minimum": 0, "maximum": 100},
                        },
                    },
                    "maxItems": 20,
                },
            },
        },
    },
    {
        "provider": "rankwise",
        "name": "SERP Rank Check",
        "description": (
            "Checks where a URL or domain currently ranks in Google for a keyword, on desktop "
            "or mobile, in a chosen country. Returns the position, the ranking URL and the SERP "
            "features shown."
        ),
        "category": "seo",
        "tags": ["seo", "rank", "serp", "tracking"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.01",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["keyword", "domain"],
            "properties": {
                "keyword": {
                    "type": "string",
                    "description": "Search phrase to check",
                    "minLength": 1,
                    "maxLength": 200,
                },
                "domain": {
                    "type": "string",
                    "description": "Domain whose position you want, e.g. example.com",
                    "format": "hostname",
                },
                "country": {
                    "type": "string",
                    "description": "ISO 3166-1 alpha-2 country code",
                    "pattern": "^[A-Z]{2}$",
                    "default": "US",
                },
                "device": {
                    "type": "string",
                    "enum": ["desktop", "mobile"],
                    "description": "Device to emulate",
                    "default": "desktop",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["keyword", "position"],
            "properties": {
                "keyword": {"type": "string", "description": "The keyword that was checked"},
                "position": {
                    "type": ["integer", "null"],
                    "minimum": 1,
                    "description": "Organic position, or null if not in the top 100",
                },
                "ranking_url": {
                    "type": ["string", "null"],
                    "format": "uri",
                    "description": "The page that ranks",
                },
                "serp_features": {
                    "type": "array",
                    "description": "Features on the results page",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "rankwise",
        "name": "Keyword Research Report",
        "description": (
            "Expands a seed topic into 100-300 related keywords, clusters them by search intent "
            "and estimates traffic potential per cluster. Ideal input for an editorial calendar "
            "or a new landing-page plan."
        ),
        "category": "seo",
        "tags": ["seo", "keyword", "content-planning"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "6.00",
        "estimated_delivery": "15 minutes",
        "input_schema": {
            "type": "object",
            "required": ["seed_keywords"],
            "properties": {
                "seed_keywords": {
                    "type": "array",
                    "description": "One to ten seed phrases",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": 10,
                },
                "country": {
                    "type": "string",
                    "description": "ISO 3166-1 alpha-2 country code",
                    "pattern": "^[A-Z]{2}$",
                    "default": "US",
                },
                "max_keywords": {
                    "type": "integer",
                    "description": "Upper bound on keywords returned",
                    "minimum": 50,
                    "maximum": 300,
                    "default": 150,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["clusters"],
            "properties": {
                "clusters": {
                    "type": "array",
                    "description": "Keyword clusters, largest opportunity first",
                    "items": {
                        "type": "object",
                        "description": "A cluster",
                        "required": ["topic", "keywords"],
                        "properties": {
                            "topic": {"type": "string", "description": "Cluster label"},
                            "intent": {"type": "string", "description": "Dominant search intent"},
                            "total_volume": {
                                "type": "integer",
                                "description": "Combined monthly volume",
                            },
                            "keywords": {
                                "type": "array",
                                "description": "Keywords in the cluster",
                                "items": {"type": "string"},
                            },
                        },
                    },
                },
                "csv_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Download link for the full keyword list as CSV",
                },
            },
        },
    },
    {
        "provider": "rankwise",
        "name": "SEO Strategy & Content Gap Analysis",
        "description": (
            "A senior strategist audits your site against three to five competitors, maps the "
            "topics they rank for and you don't, and delivers a 90-day roadmap with prioritized "
            "pages to create or rewrite. Includes a 45-minute review call. Price depends on "
            "site size and market."
        ),
        "category": "seo",
        "tags": ["seo", "strategy", "competitors"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "400.00",
        "price_max": "1500.00",
        "estimated_delivery": "5-7 days",
        "input_schema": {
            "type": "object",
            "required": ["site_url", "competitors"],
            "properties": {
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Public URL of the site, e.g. https://example.com",
                },
                "competitors": {
                    "type": "array",
                    "description": "Competitor sites to benchmark against",
                    "items": {"type": "string", "format": "uri"},
                    "minItems": 1,
                    "maxItems": 5,
                },
                "goals": {
                    "type": "string",
                    "description": "Business goals and target audience, in a few sentences",
                    "maxLength": 2000,
                },
                "markets": {
                    "type": "array",
                    "description": "Countries you target (ISO 3166-1 alpha-2)",
                    "items": {"type": "string"},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["report_url", "roadmap"],
            "properties": {
                "report_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the full PDF report",
                },
                "roadmap": {
                    "type": "array",
                    "description": "Prioritized actions for the next 90 days",
                    "items": {
                        "type": "object",
                        "description": "An action",
                        "properties": {
                            "week": {
                                "type": "integer",
                                "description": "Target week",
                                "minimum": 1,
                                "maximum": 13,
                            },
                            "action": {"type": "string", "description": "What to do"},
                            "expected_impact": {
                                "type": "string",
                                "enum": ["high", "medium", "low"],
                                "description": "Expected impact",
                            },
                        },
                    },
                },
                "call_booking_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to book the review call",
                },
            },
        },
    },
    {
        "provider": "rankwise",
        "name": "On-Page Optimization Review",
        "description": (
            "An experienced SEO audits up to 10 pages by hand: titles, headings, internal "
            "links, schema markup and how well the copy matches search intent. You get a "
            "marked-up document with concrete rewrites, not a generic checklist."
        ),
        "category": "seo",
        "tags": ["seo", "on-page", "copy"],
        "service_type": "human_service",
        "pricing_model": "fixed",
        "price": "95.00",
        "estimated_delivery": "48h",
        "input_schema": {
            "type": "object",
            "required": ["page_urls"],
            "properties": {
                "page_urls": {
                    "type": "array",
                    "description": "Pages to review",
                    "items": {"type": "string", "format": "uri"},
                    "minItems": 1,
                    "maxItems": 10,
                },
                "target_keywords": {
                    "type": "array",
                    "description": "Main keyword per page, in the same order",
                    "items": {"type": "string"},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["pages"],
            "properties": {
                "pages": {
                    "type": "array",
                    "description": "Findings per page",
                    "items": {
                        "type": "object",
                        "description": "Review of one page",
                        "required": ["url", "recommendations"],
                        "properties": {
                            "url": {"type": "string", "format": "uri"},
                            "suggested_title": {
                                "type": "string",
                                "description": "Rewritten title tag",
                            },
                            "suggested_meta_description": {
                                "type": "string",
                                "description": "Rewritten meta description",
                            },
                            "recommendations": {
                                "type": "array",
                                "description": "Concrete changes",
                                "items": {"type": "string"},
                            },
                        },
                    },
                },
                "document_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the annotated Google Doc",
                },
            },
        },
    },
    {
        "provider": "rankwise",
        "name": "Meta Tag Generator",
        "description": (
            "Reads a page and writes an SEO title, meta description, Open Graph and Twitter "
            "card tags that stay within pixel limits. Returns ready-to-paste HTML plus three "
            "alternative descriptions for A/B testing."
        ),
        "category": "seo",
        "tags": ["seo", "meta-tags", "copywriting"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "0.75",
        "estimated_delivery": "< 1 minute",
        "input_schema": {
            "type": "object",
            "required": ["page_url"],
            "properties": {
                "page_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Page to write meta tags for",
                },
                "focus_keyword": {
                    "type": "string",
                    "description": "Keyword the tags should target",
                },
                "brand": {"type": "string", "description": "Brand name to append to the title"},
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["title", "description", "html"],
            "properties": {
                "title": {
                    "type": "string",
                    "description": "Title tag, at most 60 characters",
                    "maxLength": 60,
                },
                "description": {
                    "type": "string",
                    "description": "Meta description, at most 160 characters",
                    "maxLength": 160,
                },
                "alternatives": {
                    "type": "array",
                    "description": "Alternative descriptions",
                    "items": {"type": "string"},
                    "maxItems": 3,
                },
                "html": {"type": "string", "description": "Ready-to-paste <head> snippet"},
            },
        },
    },
    {
        "provider": "rankwise",
        "name": "Local SEO Citation Cleanup",
        "description": (
            "We find every directory listing for your business, fix inconsistent names, "
            "addresses and phone numbers, claim your Google Business Profile and submit to the "
            "40 directories that matter in your country. Quoted by number of locations."
        ),
        "category": "seo",
        "tags": ["seo", "local-seo", "citations", "google-business"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "150.00",
        "price_max": "600.00",
        "estimated_delivery": "3-5 days",
        "input_schema": {
            "type": "object",
            "required": ["business_name", "address", "phone"],
            "properties": {
                "business_name": {
                    "type": "string",
                    "description": "Legal or trading name as it should appear",
                },
                "address": {"type": "string", "description": "Full street address"},
                "phone": {
                    "type": "string",
                    "description": "Phone number in E.164 format",
                    "pattern": "^\\+[1-9][0-9]{6,14}$",
                },
                "website": {"type": "string", "format": "uri", "description": "Business website"},
                "locations": {
                    "type": "integer",
                    "description": "Number of physical locations",
                    "minimum": 1,
                    "default": 1,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["listings_fixed", "report_url"],
            "properties": {
                "listings_fixed": {
                    "type": "integer",
                    "description": "Directory listings corrected or created",
                },
                "google_business_profile": {
                    "type": "string",
                    "enum": ["claimed", "verified", "pending"],
                    "description": "Profile status",
                },
                "report_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Spreadsheet of every citation and its status",
                },
            },
        },
    },
    # -------------------- PressForge WordPress Studio (pressforge)
    {
        "provider": "pressforge",
        "name": "WordPress Content Change",
        "description": (
            "A developer makes up to 30 minutes of content edits on your WordPress site: update "
            "text, swap images, add a page, fix a menu or change a footer. Works with "
            "Gutenberg, Elementor, Divi and classic themes. Screenshots of every change are "
            "included."
        ),
        "category": "wordpress",
        "tags": ["wordpress", "content", "edit", "cms"],
        "service_type": "human_service",
        "pricing_model": "fixed",
        "price": "35.00",
        "estimated_delivery": "24h",
        "input_schema": {
            "type": "object",
            "required": ["site_url", "instructions"],
            "properties": {
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "URL of the WordPress site, e.g. https://example.com",
                },
                "instructions": {
                    "type": "string",
                    "description": "Exactly what to change, page by page",
                    "minLength": 10,
                    "maxLength": 5000,
                },
                "page_urls": {
                    "type": "array",
                    "description": "Pages that need edits",
                    "items": {"type": "string", "format": "uri"},
                },
                "attachments": {
                    "type": "array",
                    "description": "Links to images or documents to use",
                    "items": {"type": "string", "format": "uri"},
                },
                "access": {
                    "type": "string",
                    "description": (
                        "How we get access: a temporary admin user, or 'invite' to be sent an "
                        "invitation. Never send your main password."
                    ),
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["changes", "screenshots"],
            "properties": {
                "changes": {
                    "type": "array",
                    "description": "What was changed",
                    "items": {
                        "type": "object",
                        "description": "One change",
                        "properties": {
                            "page_url": {"type": "string", "format": "uri"},
                            "summary": {"type": "string"},
                        },
                    },
                },
                "screenshots": {
                    "type": "array",
                    "description": "Before/after screenshots",
                    "items": {"type": "string", "format": "uri"},
                },
                "time_spent_minutes": {
                    "type": "integer",
                    "description": "Billable minutes used",
                    "minimum": 0,
                    "maximum": 30,
                },
            },
        },
    },
    {
        "provider": "pressforge",
        "name": "WordPress Plugin Conflict Fix",
        "description": (
            "White screen, broken checkout or an admin that won't load after an update? We "
            "reproduce the problem on a staging copy, isolate the conflicting plugins or theme "
            "code, and apply a fix or a safe rollback. Quoted after a free 15-minute diagnosis."
        ),
        "category": "wordpress",
        "tags": ["wordpress", "plugins", "debugging"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "75.00",
        "price_max": "400.00",
        "estimated_delivery": "24-72h",
        "input_schema": {
            "type": "object",
            "required": ["site_url", "symptoms"],
            "properties": {
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "URL of the WordPress site, e.g. https://example.com",
                },
                "symptoms": {
                    "type": "string",
                    "description": "What is broken, and since when",
                    "maxLength": 3000,
                },
                "recent_changes": {
                    "type": "string",
                    "description": "Plugins or themes updated or installed recently",
                },
                "error_log_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Optional link to a PHP error log or screenshot",
                },
                "access": {
                    "type": "string",
                    "description": (
                        "How we get access: a temporary admin user, or 'invite' to be sent an "
                        "invitation. Never send your main password."
                    ),
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["root_cause", "resolution"],
            "properties": {
                "root_cause": {
                    "type": "string",
                    "description": "Which plugins or code conflicted, and why",
                },
                "resolution": {
                    "type": "string",
                    "enum": ["patched", "replaced_plugin", "rolled_back", "configuration_change"],
                    "description": "What we did",
                },
                "notes": {"type": "string", "description": "Follow-up advice to avoid a repeat"},
            },
        },
    },
    {
        "provider": "pressforge",
        "name": "WordPress Security Audit",
        "description": (
            "A manual review of a WordPress installation: outdated or abandoned plugins, known "
            "CVEs, weak admin accounts, file permissions, malware and backdoor signatures, and "
            "server configuration. Delivered as a prioritized report with one-click fixes where "
            "possible."
        ),
        "category": "wordpress",
        "tags": ["wordpress", "security", "audit", "malware"],
        "service_type": "human_service",
        "pricing_model": "fixed",
        "price": "250.00",
        "estimated_delivery": "3 days",
        "input_schema": {
            "type": "object",
            "required": ["site_url"],
            "properties": {
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "URL of the WordPress site, e.g. https://example.com",
                },
                "hosting_provider": {
                    "type": "string",
                    "description": "Where the site is hosted, e.g. WP Engine, SiteGround, VPS",
                },
                "access": {
                    "type": "string",
                    "description": (
                        "How we get access: a temporary admin user, or 'invite' to be sent an "
                        "invitation. Never send your main password."
                    ),
                },
                "include_malware_cleanup": {
                    "type": "boolean",
                    "description": "Remove malware if found (may raise the price)",
                    "default": False,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["risk_level", "findings", "report_url"],
            "properties": {
                "risk_level": {
                    "type": "string",
                    "enum": ["low", "medium", "high", "critical"],
                    "description": "Overall risk",
                },
                "findings": {
                    "type": "array",
                    "description": "Security findings",
                    "items": {
                        "type": "object",
                        "description": "A finding",
                        "required": ["title", "severity"],
                        "properties": {
                            "title": {"type": "string"},
                            "severity": {
                                "type": "string",
                                "enum": ["low", "medium", "high", "critical"],
                            },
                            "cve": {
                                "type": ["string", "null"],
                                "description": "CVE identifier, if any",
                            },
                            "fix": {"type": "string"},
                        },
                    },
                },
                "report_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the PDF report",
                },
            },
        },
    },
    {
        "provider": "pressforge",
        "name": "WordPress Version & Plugin Detector",
        "description": (
            "Detects whether a site runs WordPress and, from public assets only, reports the "
            "core version, active theme and visible plugins with their versions. Flags anything "
            "with a known vulnerability."
        ),
        "category": "wordpress",
        "tags": ["wordpress", "detection", "plugins"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.01",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["site_url"],
            "properties": {
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Site to fingerprint",
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["is_wordpress"],
            "properties": {
                "is_wordpress": {
                    "type": "boolean",
                    "description": "Whether WordPress was detected",
                },
                "core_version": {
                    "type": ["string", "null"],
                    "description": "WordPress core version",
                },
                "theme": {"type": ["string", "null"], "description": "Active theme slug"},
                "plugins": {
                    "type": "array",
                    "description": "Detected plugins",
                    "items": {
                        "type": "object",
                        "description": "A plugin",
                        "properties": {
                            "slug": {"type": "string"},
                            "version": {"type": ["string", "null"]},
                            "vulnerable": {"type": "boolean"},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "pressforge",
        "name": "WordPress Speed Optimization",
        "description": (
            "We get your WordPress site into the green on Core Web Vitals: caching, image "
            "compression and WebP, critical CSS, script deferral, database cleanup and CDN "
            "setup. Before and after PageSpeed scores are part of the handover."
        ),
        "category": "wordpress",
        "tags": ["wordpress", "performance", "core-web-vitals"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "150.00",
        "price_max": "800.00",
        "estimated_delivery": "2-4 days",
        "input_schema": {
            "type": "object",
            "required": ["site_url"],
            "properties": {
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "URL of the WordPress site, e.g. https://example.com",
                },
                "target_pages": {
                    "type": "array",
                    "description": "Most important pages to optimize",
                    "items": {"type": "string", "format": "uri"},
                    "maxItems": 10,
                },
                "page_builder": {
                    "type": "string",
                    "enum": ["gutenberg", "elementor", "divi", "wpbakery", "other"],
                    "description": "Page builder in use",
                },
                "access": {
                    "type": "string",
                    "description": (
                        "How we get access: a temporary admin user, or 'invite' to be sent an "
                        "invitation. Never send your main password."
                    ),
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["before", "after"],
            "properties": {
                "before": {
                    "type": "object",
                    "description": "PageSpeed scores before",
                    "properties": {"mobile": {"type": "integer"}, "desktop": {"type": "integer"}},
                },
                "after": {
                    "type": "object",
                    "description": "PageSpeed scores after",
                    "properties": {"mobile": {"type": "integer"}, "desktop": {"type": "integer"}},
                },
                "changes": {
                    "type": "array",
                    "description": "Optimizations applied",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "pressforge",
        "name": "WordPress Site Migration",
        "description": (
            "Moves a WordPress site to a new host or domain with zero content loss: files, "
            "database, search-and-replace of URLs, email and DNS cutover planning, and 301 "
            "redirects to protect rankings. Multisite and WooCommerce stores are quoted "
            "separately."
        ),
        "category": "wordpress",
        "tags": ["wordpress", "migration", "hosting"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "200.00",
        "price_max": "900.00",
        "estimated_delivery": "3-5 days",
        "input_schema": {
            "type": "object",
            "required": ["source_url", "destination_host"],
            "properties": {
                "source_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Current URL of the site",
                },
                "destination_host": {
                    "type": "string",
                    "description": "New hosting provider or server",
                },
                "new_domain": {
                    "type": "string",
                    "description": "New domain, if it changes",
                    "format": "hostname",
                },
                "is_woocommerce": {
                    "type": "boolean",
                    "description": "The site runs a WooCommerce store",
                    "default": False,
                },
                "preferred_cutover": {
                    "type": "string",
                    "description": "Preferred cutover date",
                    "format": "date",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["status", "new_url"],
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["completed", "awaiting_dns", "rolled_back"],
                    "description": "Migration status",
                },
                "new_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "URL of the migrated site",
                },
                "redirects_added": {
                    "type": "integer",
                    "description": "Number of 301 redirects configured",
                    "minimum": 0,
                },
                "checklist_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Post-migration checklist",
                },
            },
        },
    },
    {
        "provider": "pressforge",
        "name": "WooCommerce Store Health Check",
        "description": (
            "Runs a scripted test purchase flow against a WooCommerce store: product pages, "
            "cart, coupons, checkout and payment gateway reachability. Reports broken steps, "
            "slow responses and outdated WooCommerce extensions."
        ),
        "category": "wordpress",
        "tags": ["wordpress", "woocommerce", "ecommerce"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "3.50",
        "estimated_delivery": "5 minutes",
        "input_schema": {
            "type": "object",
            "required": ["store_url"],
            "properties": {
                "store_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Home page of the WooCommerce store",
                },
                "product_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "A product to use for the test checkout",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["passed", "steps"],
            "properties": {
                "passed": {
                    "type": "boolean",
                    "description": "True if every step of the flow worked",
                },
                "steps": {
                    "type": "array",
                    "description": "Result per step",
                    "items": {
                        "type": "object",
                        "description": "A step",
                        "properties": {
                            "name": {"type": "string"},
                            "ok": {"type": "boolean"},
                            "duration_ms": {"type": "integer"},
                            "error": {"type": ["string", "null"]},
                        },
                    },
                },
                "outdated_extensions": {
                    "type": "array",
                    "description": "Extensions needing updates",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "pressforge",
        "name": "WordPress Core & Plugin Updates",
        "description": (
            "We back up the site, update WordPress core, themes and plugins on staging, test "
            "key pages and forms, then push to production. If anything breaks, we roll back "
            "before you notice."
        ),
        "category": "wordpress",
        "tags": ["wordpress", "maintenance", "updates"],
        "service_type": "human_service",
        "pricing_model": "fixed",
        "price": "49.00",
        "estimated_delivery": "24h",
        "input_schema": {
            "type": "object",
            "required": ["site_url"],
            "properties": {
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "URL of the WordPress site, e.g. https://example.com",
                },
                "skip_plugins": {
                    "type": "array",
                    "description": "Plugin slugs that must not be updated",
                    "items": {"type": "string"},
                },
                "access": {
                    "type": "string",
                    "description": (
                        "How we get access: a temporary admin user, or 'invite' to be sent an "
                        "invitation. Never send your main password."
                    ),
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["updated"],
            "properties": {
                "updated": {
                    "type": "array",
                    "description": "Components updated",
                    "items": {
                        "type": "object",
                        "description": "An update",
                        "properties": {
                            "component": {"type": "string"},
                            "from_version": {"type": "string"},
                            "to_version": {"type": "string"},
                        },
                    },
                },
                "backup_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Where the pre-update backup is stored",
                },
                "issues": {
                    "type": "array",
                    "description": "Problems found during testing",
                    "items": {"type": "string"},
                },
            },
        },
    },
    # -------------------- Bastion Security Group (bastion)
    {
        "provider": "bastion",
        "name": "SSL Certificate Check",
        "description": (
            "Connects to a host and returns its TLS certificate details: issuer, validity "
            "dates, days until expiry, subject alternative names, chain completeness and "
            "supported protocol versions. Perfect for expiry monitoring."
        ),
        "category": "security",
        "tags": ["ssl", "tls", "certificate", "https"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.005",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["hostname"],
            "properties": {
                "hostname": {
                    "type": "string",
                    "description": "Host to check, e.g. example.com",
                    "format": "hostname",
                },
                "port": {
                    "type": "integer",
                    "description": "TLS port",
                    "minimum": 1,
                    "maximum": 65535,
                    "default": 443,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["valid", "issuer", "not_after", "days_remaining"],
            "properties": {
                "valid": {
                    "type": "boolean",
                    "description": "Whether the certificate is currently valid and trusted",
                },
                "issuer": {"type": "string", "description": "Issuing certificate authority"},
                "not_before": {
                    "type": "string",
                    "description": "Start of validity",
                    "format": "date-time",
                },
                "not_after": {
                    "type": "string",
                    "description": "End of validity",
                    "format": "date-time",
                },
                "days_remaining": {
                    "type": "integer",
                    "description": "Days until expiry (negative if expired)",
                },
                "san": {
                    "type": "array",
                    "description": "Subject alternative names",
                    "items": {"type": "string"},
                },
                "chain_complete": {
                    "type": "boolean",
                    "description": "Whether intermediates are served correctly",
                },
                "protocols": {
                    "type": "array",
                    "description": "Supported TLS versions",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "bastion",
        "name": "Security Headers Scan",
        "description": (
            "Fetches a URL and grades its HTTP security headers (Content-Security-Policy, HSTS, "
            "X-Frame-Options, Referrer-Policy, Permissions-Policy and more) from A+ to F, with "
            "the exact header values to add."
        ),
        "category": "security",
        "tags": ["security", "headers", "csp", "hsts"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.01",
        "estimated_delivery": "< 2 seconds",
        "input_schema": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "Page to scan"}
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["grade", "headers"],
            "properties": {
                "grade": {
                    "type": "string",
                    "enum": ["A+", "A", "B", "C", "D", "E", "F"],
                    "description": "Overall grade",
                },
                "headers": {
                    "type": "array",
                    "description": "Per-header results",
                    "items": {
                        "type": "object",
                        "description": "A header",
                        "properties": {
                            "name": {"type": "string"},
                            "present": {"type": "boolean"},
                            "value": {"type": ["string", "null"]},
                            "recommendation": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "bastion",
        "name": "Open Port Scan",
        "description": (
            "Scans the 1,000 most common TCP ports on a host you own and identifies the "
            "services and versions listening on them. Exposed databases, admin panels and "
            "legacy protocols are flagged. You must confirm you are authorized to scan the "
            "target."
        ),
        "category": "security",
        "tags": ["security", "network", "ports", "nmap"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "1.50",
        "estimated_delivery": "5 minutes",
        "input_schema": {
            "type": "object",
            "required": ["target", "authorized"],
            "properties": {
                "target": {"type": "string", "description": "Hostname or IPv4 address to scan"},
                "authorized": {
                    "type": "boolean",
                    "const": True,
                    "description": "You confirm you own or may test the target",
                },
                "ports": {
                    "type": "string",
                    "enum": ["top100", "top1000", "all"],
                    "description": "Port range",
                    "default": "top1000",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["open_ports"],
            "properties": {
                "open_ports": {
                    "type": "array",
                    "description": "Open ports found",
                    "items": {
                        "type": "object",
                        "description": "An open port",
                        "properties": {
                            "port": {"type": "integer"},
                            "protocol": {"type": "string"},
                            "service": {"type": "string"},
                            "version": {"type": ["string", "null"]},
                            "risky": {"type": "boolean"},
                        },
                    },
                },
                "scanned_at": {"type": "string", "description": "Scan time", "format": "date-time"},
            },
        },
    },
    {
        "provider": "bastion",
        "name": "Web Application Penetration Test",
        "description": (
            "Certified testers attack your web app the way a real adversary would: "
            "authentication, access control, injection, business-logic flaws and API abuse. The "
            "engagement ends in an audit-grade report with reproducible proofs of concept and a "
            "free retest of fixed issues. Quoted by scope."
        ),
        "category": "security",
        "tags": ["security", "pentest", "owasp"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "1500.00",
        "price_max": "8000.00",
        "estimated_delivery": "5-10 days",
        "input_schema": {
            "type": "object",
            "required": ["app_url", "scope"],
            "properties": {
                "app_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Application entry point",
                },
                "scope": {
                    "type": "string",
                    "description": "In-scope hosts, APIs and user roles",
                    "maxLength": 5000,
                },
                "test_accounts": {
                    "type": "integer",
                    "description": "Number of test accounts you can provide",
                    "minimum": 0,
                },
                "environment": {
                    "type": "string",
                    "enum": ["production", "staging"],
                    "description": "Environment to test",
                    "default": "staging",
                },
                "compliance": {
                    "type": "array",
                    "description": "Frameworks the report must map to",
                    "items": {"type": "string", "enum": ["SOC2", "ISO27001", "PCI-DSS", "HIPAA"]},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["report_url", "findings_summary"],
            "properties": {
                "report_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the encrypted PDF report",
                },
                "findings_summary": {
                    "type": "object",
                    "description": "Count of findings by severity",
                    "properties": {
                        "critical": {"type": "integer"},
                        "high": {"type": "integer"},
                        "medium": {"type": "integer"},
                        "low": {"type": "integer"},
                    },
                },
                "retest_deadline": {
                    "type": "string",
                    "description": "Last day for the free retest",
                    "format": "date",
                },
            },
        },
    },
    {
        "provider": "bastion",
        "name": "OWASP Top 10 Vulnerability Scan",
        "description": (
            "An authenticated or unauthenticated DAST scan that probes for the OWASP Top 10: "
            "SQL injection, XSS, SSRF, insecure redirects, exposed secrets and "
            "misconfigurations. Findings are de-duplicated and verified to keep false positives "
            "low."
        ),
        "category": "security",
        "tags": ["security", "owasp", "scanner", "xss"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "8.00",
        "estimated_delivery": "20 minutes",
        "input_schema": {
            "type": "object",
            "required": ["target_url", "authorized"],
            "properties": {
                "target_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Start URL for the scan",
                },
                "authorized": {
                    "type": "boolean",
                    "const": True,
                    "description": "You confirm you own or may test the target",
                },
                "login_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Login page, for authenticated scans",
                },
                "username": {"type": "string", "description": "Test account username"},
                "password": {
                    "type": "string",
                    "description": "Test account password",
                    "writeOnly": True,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["findings"],
            "properties": {
                "findings": {
                    "type": "array",
                    "description": "Verified vulnerabilities",
                    "items": {
                        "type": "object",
                        "description": "A vulnerability",
                        "required": ["owasp_category", "severity", "url"],
                        "properties": {
                            "owasp_category": {
                                "type": "string",
                                "description": "e.g. A03:2021-Injection",
                            },
                            "severity": {
                                "type": "string",
                                "enum": ["low", "medium", "high", "critical"],
                            },
                            "url": {"type": "string", "format": "uri"},
                            "evidence": {"type": "string"},
                        },
                    },
                },
                "pages_scanned": {
                    "type": "integer",
                    "description": "Number of pages and endpoints scanned",
                },
            },
        },
    },
    {
        "provider": "bastion",
        "name": "Breached Credential Lookup",
        "description": (
            "Checks whether an email address or domain appears in known public data breaches "
            "and returns the breach names, dates and exposed data classes. Passwords are never "
            "returned."
        ),
        "category": "security",
        "tags": ["security", "breach", "credentials", "email"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.05",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["query"],
            "properties": {
                "query": {"type": "string", "description": "An email address or a domain name"},
                "include_unverified": {
                    "type": "boolean",
                    "description": "Include unverified breaches",
                    "default": False,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["breached", "breaches"],
            "properties": {
                "breached": {
                    "type": "boolean",
                    "description": "True if the query appears in any breach",
                },
                "breaches": {
                    "type": "array",
                    "description": "Matching breaches",
                    "items": {
                        "type": "object",
                        "description": "A breach",
                        "properties": {
                            "name": {"type": "string"},
                            "date": {"type": "string", "format": "date"},
                            "data_classes": {"type": "array", "items": {"type": "string"}},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "bastion",
        "name": "Incident Response Triage",
        "description": (
            "Think you've been breached? An incident responder joins within hours, scopes the "
            "compromise, preserves evidence, contains the attacker and hands you a written "
            "timeline of what happened. Quoted on the first call based on environment size."
        ),
        "category": "security",
        "tags": ["security", "incident-response", "forensics"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "500.00",
        "price_max": "3000.00",
        "estimated_delivery": "24h",
        "input_schema": {
            "type": "object",
            "required": ["summary", "contact_email"],
            "properties": {
                "summary": {
                    "type": "string",
                    "description": "What you observed and when",
                    "maxLength": 5000,
                },
                "contact_email": {
                    "type": "string",
                    "description": "Who we should reach",
                    "format": "email",
                },
                "affected_systems": {
                    "type": "array",
                    "description": "Systems believed to be affected",
                    "items": {"type": "string"},
                },
                "still_active": {
                    "type": "boolean",
                    "description": "The attacker may still have access",
                    "default": True,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["status", "timeline_url"],
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["contained", "eradicated", "monitoring"],
                    "description": "Incident status",
                },
                "timeline_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the written incident timeline",
                },
                "indicators_of_compromise": {
                    "type": "array",
                    "description": "IOCs found",
                    "items": {"type": "string"},
                },
                "recommendations": {
                    "type": "array",
                    "description": "Hardening steps",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "bastion",
        "name": "Cloud Security Posture Review",
        "description": (
            "A cloud security engineer reviews your AWS, GCP or Azure account with read-only "
            "access: IAM policies, public buckets, network exposure, logging and encryption. "
            "Findings are mapped to CIS benchmarks with ready-to-apply Terraform fixes."
        ),
        "category": "security",
        "tags": ["security", "cloud", "aws", "iam"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "800.00",
        "price_max": "4000.00",
        "estimated_delivery": "5 days",
        "input_schema": {
            "type": "object",
            "required": ["cloud_provider", "account_count"],
            "properties": {
                "cloud_provider": {
                    "type": "string",
                    "enum": ["aws", "gcp", "azure"],
                    "description": "Cloud platform",
                },
                "account_count": {
                    "type": "integer",
                    "description": "Number of accounts or projects in scope",
                    "minimum": 1,
                },
                "read_only_role": {
                    "type": "string",
                    "description": "ARN or identifier of the read-only role we should assume",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["report_url", "cis_score"],
            "properties": {
                "report_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the report",
                },
                "cis_score": {
                    "type": "number",
                    "description": "Percentage of CIS controls passed",
                    "minimum": 0,
                    "maximum": 100,
                },
                "terraform_patch_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to suggested Terraform changes",
                },
            },
        },
    },
    # -------------------- Datapoint APIs (datapoint)
    {
        "provider": "datapoint",
        "name": "DNS Lookup",
        "description": (
            "Resolves DNS records for a domain through multiple anycast resolvers and returns "
            "them as structured JSON, with TTLs. Supports A, AAAA, CNAME, MX, TXT, NS, SOA, CAA "
            "and SRV."
        ),
        "category": "data",
        "tags": ["dns", "domain", "records"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.002",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["domain"],
            "properties": {
                "domain": {
                    "type": "string",
                    "description": "Domain name to resolve",
                    "format": "hostname",
                },
                "record_types": {
                    "type": "array",
                    "description": "Record types to fetch",
                    "items": {
                        "type": "string",
                        "enum": ["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SOA", "CAA", "SRV"],
                    },
                    "default": ["A", "AAAA", "MX", "TXT", "NS"],
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["domain", "records"],
            "properties": {
                "domain": {"type": "string", "description": "The resolved domain"},
                "records": {
                    "type": "array",
                    "description": "Records found",
                    "items": {
                        "type": "object",
                        "description": "A DNS record",
                        "required": ["type", "value"],
                        "properties": {
                            "type": {"type": "string"},
                            "name": {"type": "string"},
                            "value": {"type": "string"},
                            "ttl": {"type": "integer"},
                        },
                    },
                },
                "dnssec": {"type": "boolean", "description": "Whether the zone is DNSSEC-signed"},
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "WHOIS Lookup",
        "description": (
            "Returns parsed WHOIS/RDAP data for a domain: registrar, creation and expiry dates, "
            "name servers, status codes and (where not redacted) registrant organization and "
            "country."
        ),
        "category": "data",
        "tags": ["whois", "domain", "rdap"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.003",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["domain"],
            "properties": {
                "domain": {
                    "type": "string",
                    "description": "Registered domain name, e.g. example.com",
                    "format": "hostname",
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["domain", "registrar"],
            "properties": {
                "domain": {"type": "string", "description": "The domain looked up"},
                "registrar": {"type": "string", "description": "Sponsoring registrar"},
                "created": {"type": "string", "description": "Registration date", "format": "date"},
                "expires": {"type": "string", "description": "Expiry date", "format": "date"},
                "name_servers": {
                    "type": "array",
                    "description": "Authoritative name servers",
                    "items": {"type": "string"},
                },
                "status": {
                    "type": "array",
                    "description": "EPP status codes",
                    "items": {"type": "string"},
                },
                "registrant_org": {
                    "type": ["string", "null"],
                    "description": "Registrant organization",
                },
                "registrant_country": {
                    "type": ["string", "null"],
                    "description": "ISO country code",
                },
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "Email Validation",
        "description": (
            "Validates an email address without sending a message: syntax, MX records, SMTP "
            "mailbox check, disposable and role-based detection, and catch-all domains. Returns "
            "a deliverability verdict you can act on."
        ),
        "category": "data",
        "tags": ["email", "validation", "deliverability"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.004",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["email"],
            "properties": {
                "email": {
                    "type": "string",
                    "description": "Email address to validate",
                    "format": "email",
                    "maxLength": 254,
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["email", "verdict"],
            "properties": {
                "email": {"type": "string", "description": "Normalized address"},
                "verdict": {
                    "type": "string",
                    "enum": ["deliverable", "risky", "undeliverable", "unknown"],
                    "description": "Deliverability verdict",
                },
                "disposable": {
                    "type": "boolean",
                    "description": "Address is from a throwaway provider",
                },
                "role_based": {
                    "type": "boolean",
                    "description": "Address is a role like info@ or sales@",
                },
                "catch_all": {"type": "boolean", "description": "Domain accepts all addresses"},
                "did_you_mean": {"type": ["string", "null"], "description": "Suggested typo fix"},
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "IP Geolocation",
        "description": (
            "Maps an IPv4 or IPv6 address to country, region, city, coordinates, time zone, ASN "
            "and network owner, and tells you if it belongs to a VPN, proxy, Tor exit or "
            "hosting provider."
        ),
        "category": "data",
        "tags": ["ip", "geolocation", "asn"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.001",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["ip"],
            "properties": {
                "ip": {
                    "type": "string",
                    "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}],
                    "description": "IPv4 or IPv6 address",
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["ip", "country"],
            "properties": {
                "ip": {"type": "string", "description": "The address looked up"},
                "country": {"type": "string", "description": "ISO 3166-1 alpha-2 country code"},
                "region": {"type": "string", "description": "Region or state"},
                "city": {"type": "string", "description": "City"},
                "latitude": {"type": "number", "description": "Latitude"},
                "longitude": {"type": "number", "description": "Longitude"},
                "timezone": {"type": "string", "description": "IANA time zone, e.g. Europe/Berlin"},
                "asn": {"type": "integer", "description": "Autonomous system number"},
                "org": {"type": "string", "description": "Network owner"},
                "is_proxy": {"type": "boolean", "description": "VPN, proxy or Tor exit"},
                "is_hosting": {
                    "type": "boolean",
                    "description": "Address belongs to a hosting provider",
                },
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "Website Screenshot Capture",
        "description": (
            "Renders a page in headless Chromium and returns a full-page or viewport screenshot "
            "as PNG or WebP. Cookie banners can be dismissed automatically, and you can pick "
            "the device, viewport and a delay for JavaScript-heavy pages."
        ),
        "category": "data",
        "tags": ["screenshot", "rendering", "browser"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "0.50",
        "estimated_delivery": "< 1 minute",
        "input_schema": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "Page to capture"},
                "full_page": {
                    "type": "boolean",
                    "description": "Capture the whole scrollable page",
                    "default": True,
                },
                "device": {
                    "type": "string",
                    "enum": ["desktop", "laptop", "tablet", "mobile"],
                    "description": "Device preset",
                    "default": "desktop",
                },
                "format": {
                    "type": "string",
                    "enum": ["png", "webp", "jpeg"],
                    "description": "Image format",
                    "default": "png",
                },
                "delay_ms": {
                    "type": "integer",
                    "description": "Wait before capturing, in milliseconds",
                    "minimum": 0,
                    "maximum": 10000,
                    "default": 0,
                },
                "hide_cookie_banners": {
                    "type": "boolean",
                    "description": "Try to dismiss cookie consent banners",
                    "default": True,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["image_url", "width", "height"],
            "properties": {
                "image_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Signed link to the screenshot, valid for 7 days",
                },
                "width": {"type": "integer", "description": "Image width in pixels"},
                "height": {"type": "integer", "description": "Image height in pixels"},
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "PDF Text & Table Extraction",
        "description": (
            "Extracts clean text, headings and tables from a PDF of up to 100 pages, with OCR "
            "for scanned pages. Tables come back as arrays of rows, ready to load into a "
            "spreadsheet or a database."
        ),
        "category": "data",
        "tags": ["pdf", "extraction", "ocr", "tables"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "0.80",
        "estimated_delivery": "< 1 minute",
        "input_schema": {
            "type": "object",
            "required": ["pdf_url"],
            "properties": {
                "pdf_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Publicly reachable link to the PDF",
                },
                "pages": {
                    "type": "string",
                    "description": "Page range, e.g. 1-5,8",
                    "pattern": "^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$",
                },
                "ocr": {
                    "type": "boolean",
                    "description": "Run OCR on pages without a text layer",
                    "default": True,
                },
                "output": {
                    "type": "string",
                    "enum": ["markdown", "plain"],
                    "description": "Text format",
                    "default": "markdown",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["page_count", "text"],
            "properties": {
                "page_count": {"type": "integer", "description": "Number of pages processed"},
                "text": {"type": "string", "description": "Extracted text"},
                "tables": {
                    "type": "array",
                    "description": "Tables found",
                    "items": {
                        "type": "object",
                        "description": "A table",
                        "properties": {
                            "page": {"type": "integer"},
                            "rows": {
                                "type": "array",
                                "items": {"type": "array", "items": {"type": "string"}},
                            },
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "Company Firmographics Lookup",
        "description": (
            "Enriches a company domain with firmographic data: legal name, industry, headcount "
            "range, founding year, headquarters, social profiles and estimated annual revenue "
            "band."
        ),
        "category": "data",
        "tags": ["company", "enrichment", "b2b"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.08",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["domain"],
            "properties": {
                "domain": {
                    "type": "string",
                    "description": "Company website domain",
                    "format": "hostname",
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["domain", "name"],
            "properties": {
                "domain": {"type": "string", "description": "The domain looked up"},
                "name": {"type": "string", "description": "Company name"},
                "industry": {"type": "string", "description": "Industry classification"},
                "employees": {"type": "string", "description": "Headcount range, e.g. 51-200"},
                "founded": {"type": "integer", "description": "Founding year"},
                "hq_country": {"type": "string", "description": "ISO 3166-1 alpha-2 country code"},
                "revenue_band": {
                    "type": "string",
                    "description": "Estimated annual revenue range in USD",
                },
                "linkedin_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Company LinkedIn page",
                },
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "Web Page to Markdown",
        "description": (
            "Fetches a URL, strips navigation, ads and boilerplate, and returns the main "
            "content as clean Markdown with title, author and publish date. Built for feeding "
            "pages into language models."
        ),
        "category": "data",
        "tags": ["scraping", "markdown", "llm", "content"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.004",
        "estimated_delivery": "< 2 seconds",
        "input_schema": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "Page to convert"},
                "include_links": {
                    "type": "boolean",
                    "description": "Keep hyperlinks in the Markdown",
                    "default": True,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["title", "markdown"],
            "properties": {
                "title": {"type": "string", "description": "Page title"},
                "author": {"type": ["string", "null"]},
                "published": {"type": ["string", "null"], "format": "date"},
                "markdown": {"type": "string", "description": "Main content as Markdown"},
                "word_count": {"type": "integer", "description": "Words in the extracted content"},
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "Currency Exchange Rates",
        "description": (
            "Returns mid-market exchange rates for 170 fiat currencies and major stablecoins, "
            "updated every 60 seconds, or the end-of-day rate for any date since 1999."
        ),
        "category": "finance",
        "tags": ["fx", "currency", "exchange-rates"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.001",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["base"],
            "properties": {
                "base": {
                    "type": "string",
                    "description": "ISO 4217 base currency, e.g. USD",
                    "pattern": "^[A-Z]{3,5}$",
                },
                "symbols": {
                    "type": "array",
                    "description": "Quote currencies; empty means all",
                    "items": {"type": "string"},
                },
                "date": {
                    "type": "string",
                    "description": "Historical date; omit for the latest rates",
                    "format": "date",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["base", "rates", "timestamp"],
            "properties": {
                "base": {"type": "string", "description": "Base currency"},
                "rates": {
                    "type": "object",
                    "additionalProperties": {"type": "number"},
                    "description": "Rate per quote currency",
                },
                "timestamp": {
                    "type": "string",
                    "description": "Time the rates were observed",
                    "format": "date-time",
                },
            },
        },
    },
    {
        "provider": "datapoint",
        "name": "Website Tech Stack Lookup",
        "description": (
            "Identifies the technologies a website uses: CMS, frameworks, analytics, CDN, "
            "payment providers, hosting and marketing tools, each with a confidence score."
        ),
        "category": "data",
        "tags": ["technology", "detection", "stack"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.01",
        "estimated_delivery": "< 2 seconds",
        "input_schema": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "Site to analyze"}
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["technologies"],
            "properties": {
                "technologies": {
                    "type": "array",
                    "description": "Detected technologies",
                    "items": {
                        "type": "object",
                        "description": "A technology",
                        "required": ["name", "category"],
                        "properties": {
                            "name": {"type": "string"},
                            "category": {"type": "string"},
                            "version": {"type": ["string", "null"]},
                            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                }
            },
        },
    },
    # -------------------- StackOps Cloud (stackops)
    {
        "provider": "stackops",
        "name": "Uptime Check",
        "description": (
            "Requests a URL from the nearest probe and reports whether it is up, the HTTP "
            "status, response time, redirect chain and whether an expected keyword is present "
            "in the body."
        ),
        "category": "devops",
        "tags": ["uptime", "monitoring", "http"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.002",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "URL to check"},
                "expected_status": {
                    "type": "integer",
                    "description": "Status code that counts as up",
                    "minimum": 100,
                    "maximum": 599,
                    "default": 200,
                },
                "keyword": {
                    "type": "string",
                    "description": "Text that must appear in the response body",
                },
                "timeout_ms": {
                    "type": "integer",
                    "description": "Request timeout",
                    "minimum": 500,
                    "maximum": 30000,
                    "default": 10000,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["up", "status_code", "response_time_ms"],
            "properties": {
                "up": {"type": "boolean", "description": "Whether the check passed"},
                "status_code": {"type": "integer", "description": "HTTP status returned"},
                "response_time_ms": {"type": "integer", "description": "Time to last byte"},
                "redirects": {
                    "type": "array",
                    "description": "Redirect chain",
                    "items": {"type": "string", "format": "uri"},
                },
                "keyword_found": {"type": ["boolean", "null"]},
                "checked_from": {"type": "string", "description": "Probe location"},
            },
        },
    },
    {
        "provider": "stackops",
        "name": "Multi-Region Latency Test",
        "description": (
            "Measures DNS, TCP connect, TLS handshake and time to first byte from 12 regions "
            "across five continents. Useful to verify CDN coverage or to compare hosting "
            "providers."
        ),
        "category": "devops",
        "tags": ["latency", "performance", "cdn", "monitoring"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "0.60",
        "estimated_delivery": "< 1 minute",
        "input_schema": {
            "type": "object",
            "required": ["url"],
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "URL to test"},
                "regions": {
                    "type": "array",
                    "description": "Region codes; empty means all 12",
                    "items": {"type": "string"},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": {
                    "type": "array",
                    "description": "Timings per region",
                    "items": {
                        "type": "object",
                        "description": "A region",
                        "properties": {
                            "region": {"type": "string"},
                            "dns_ms": {"type": "integer"},
                            "connect_ms": {"type": "integer"},
                            "tls_ms": {"type": "integer"},
                            "ttfb_ms": {"type": "integer"},
                        },
                    },
                },
                "slowest_region": {"type": "string", "description": "Region with the highest TTFB"},
            },
        },
    },
    {
        "provider": "stackops",
        "name": "Dockerfile Review & Hardening",
        "description": (
            "Analyzes a Dockerfile for image bloat, cache-busting layer order, root users, "
            "unpinned base images and leaked secrets, then returns an optimized Dockerfile with "
            "comments explaining each change."
        ),
        "category": "devops",
        "tags": ["docker", "containers", "security"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "2.00",
        "estimated_delivery": "5 minutes",
        "input_schema": {
            "type": "object",
            "required": ["dockerfile"],
            "properties": {
                "dockerfile": {
                    "type": "string",
                    "description": "Contents of the Dockerfile",
                    "maxLength": 50000,
                },
                "language": {
                    "type": "string",
                    "enum": ["python", "node", "go", "java", "ruby", "php", "rust", "other"],
                    "description": "Main application language",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["issues", "optimized_dockerfile"],
            "properties": {
                "issues": {
                    "type": "array",
                    "description": "Problems found",
                    "items": {
                        "type": "object",
                        "description": "An issue",
                        "properties": {
                            "line": {"type": "integer"},
                            "rule": {"type": "string"},
                            "message": {"type": "string"},
                        },
                    },
                },
                "optimized_dockerfile": {"type": "string", "description": "Rewritten Dockerfile"},
                "estimated_size_reduction_mb": {
                    "type": "number",
                    "description": "Expected image size saving",
                },
            },
        },
    },
    {
        "provider": "stackops",
        "name": "Kubernetes Cluster Setup",
        "description": (
            "Production-ready Kubernetes on EKS, GKE or Hetzner: networking, ingress with "
            "automatic TLS, autoscaling, secrets management, monitoring with Prometheus and "
            "Grafana, all delivered as Terraform and Helm in your repository."
        ),
        "category": "devops",
        "tags": ["kubernetes", "k8s", "infrastructure"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "600.00",
        "price_max": "3000.00",
        "estimated_delivery": "3-5 days",
        "input_schema": {
            "type": "object",
            "required": ["cloud_provider", "workloads"],
            "properties": {
                "cloud_provider": {
                    "type": "string",
                    "enum": ["aws", "gcp", "azure", "hetzner"],
                    "description": "Where to run the cluster",
                },
                "workloads": {
                    "type": "string",
                    "description": "Services you plan to run and expected traffic",
                    "maxLength": 3000,
                },
                "repository_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Git repository to deliver the code to",
                },
                "high_availability": {
                    "type": "boolean",
                    "description": "Spread control plane and nodes across zones",
                    "default": True,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["cluster_endpoint", "repository_url"],
            "properties": {
                "cluster_endpoint": {
                    "type": "string",
                    "format": "uri",
                    "description": "Kubernetes API endpoint",
                },
                "repository_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Repository containing the infrastructure code",
                },
                "runbook_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Operations runbook",
                },
            },
        },
    },
    {
        "provider": "stackops",
        "name": "CI/CD Pipeline Setup",
        "description": (
            "We build a CI/CD pipeline in GitHub Actions or GitLab CI: tests, linting, "
            "container builds, preview environments per pull request and zero-downtime deploys "
            "with one-click rollback."
        ),
        "category": "devops",
        "tags": ["ci-cd", "github-actions", "automation"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "300.00",
        "price_max": "1500.00",
        "estimated_delivery": "2-4 days",
        "input_schema": {
            "type": "object",
            "required": ["repository_url", "ci_platform"],
            "properties": {
                "repository_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Repository to set up",
                },
                "ci_platform": {
                    "type": "string",
                    "enum": ["github_actions", "gitlab_ci", "circleci"],
                    "description": "CI system",
                },
                "deploy_target": {
                    "type": "string",
                    "description": "Where the app is deployed, e.g. Fly.io, ECS, Kubernetes",
                },
                "preview_environments": {
                    "type": "boolean",
                    "description": "Create a preview environment per pull request",
                    "default": False,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["pull_request_url"],
            "properties": {
                "pull_request_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Pull request with the pipeline configuration",
                },
                "average_pipeline_minutes": {
                    "type": "number",
                    "description": "Measured pipeline duration",
                },
                "docs_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Pipeline documentation",
                },
            },
        },
    },
    {
        "provider": "stackops",
        "name": "Cloud Cost Optimization Review",
        "description": (
            "A FinOps engineer audits your cloud bill line by line: idle resources, oversized "
            "instances, missing savings plans, expensive data transfer and storage tiers. Most "
            "clients save 20-40% per month; the quote depends on monthly spend."
        ),
        "category": "devops",
        "tags": ["cloud", "finops", "aws", "cost"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "400.00",
        "price_max": "2000.00",
        "estimated_delivery": "5 days",
        "input_schema": {
            "type": "object",
            "required": ["cloud_provider", "monthly_spend_usd"],
            "properties": {
                "cloud_provider": {
                    "type": "string",
                    "enum": ["aws", "gcp", "azure"],
                    "description": "Cloud platform",
                },
                "monthly_spend_usd": {
                    "type": "number",
                    "description": "Approximate monthly cloud spend in USD",
                    "minimum": 0,
                },
                "billing_export_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to a billing export (CSV or CUR)",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["estimated_monthly_savings_usd", "recommendations"],
            "properties": {
                "estimated_monthly_savings_usd": {
                    "type": "number",
                    "description": "Projected monthly savings",
                },
                "recommendations": {
                    "type": "array",
                    "description": "Savings opportunities",
                    "items": {
                        "type": "object",
                        "description": "A recommendation",
                        "properties": {
                            "resource": {"type": "string"},
                            "action": {"type": "string"},
                            "monthly_savings_usd": {"type": "number"},
                            "effort": {"type": "string", "enum": ["low", "medium", "high"]},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "stackops",
        "name": "Email Authentication Record Check",
        "description": (
            "Validates a domain's SPF, DKIM and DMARC records and BIMI setup: syntax, DNS "
            "lookup limits, policy strength and alignment. Explains why mail might land in spam "
            "and what to change."
        ),
        "category": "devops",
        "tags": ["email", "spf", "dkim", "dmarc"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.01",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["domain"],
            "properties": {
                "domain": {"type": "string", "description": "Sending domain", "format": "hostname"},
                "dkim_selectors": {
                    "type": "array",
                    "description": "DKIM selectors to test, e.g. google, s1",
                    "items": {"type": "string"},
                    "default": ["default", "google", "selector1"],
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["spf", "dmarc"],
            "properties": {
                "spf": {
                    "type": "object",
                    "description": "SPF result",
                    "properties": {
                        "record": {"type": ["string", "null"]},
                        "valid": {"type": "boolean"},
                        "lookups": {"type": "integer"},
                    },
                },
                "dkim": {
                    "type": "array",
                    "description": "DKIM results per selector",
                    "items": {
                        "type": "object",
                        "description": "A selector",
                        "properties": {
                            "selector": {"type": "string"},
                            "valid": {"type": "boolean"},
                        },
                    },
                },
                "dmarc": {
                    "type": "object",
                    "description": "DMARC result",
                    "properties": {
                        "record": {"type": ["string", "null"]},
                        "policy": {"type": ["string", "null"]},
                    },
                },
                "recommendations": {
                    "type": "array",
                    "description": "Suggested fixes",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "stackops",
        "name": "Terraform Module Generator",
        "description": (
            "Describe the infrastructure you need in plain English and get a validated "
            "Terraform module with variables, outputs and a README. Every module passes "
            "terraform validate and tflint before delivery."
        ),
        "category": "devops",
        "tags": ["terraform", "iac", "infrastructure"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "5.00",
        "estimated_delivery": "10 minutes",
        "input_schema": {
            "type": "object",
            "required": ["description", "cloud_provider"],
            "properties": {
                "description": {
                    "type": "string",
                    "description": "What the module should create",
                    "minLength": 20,
                    "maxLength": 4000,
                },
                "cloud_provider": {
                    "type": "string",
                    "enum": ["aws", "gcp", "azure", "cloudflare"],
                    "description": "Target provider",
                },
                "terraform_version": {
                    "type": "string",
                    "description": "Minimum Terraform version",
                    "default": "1.6",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["archive_url", "files"],
            "properties": {
                "archive_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Zip file with the module",
                },
                "files": {
                    "type": "array",
                    "description": "Files in the module",
                    "items": {"type": "string"},
                },
                "validation_passed": {
                    "type": "boolean",
                    "description": "terraform validate and tflint passed",
                },
            },
        },
    },
    # -------------------- Polyglot Content Studio (polyglot)
    {
        "provider": "polyglot",
        "name": "Instant Document Translation",
        "description": (
            "Translates a document of up to 5,000 words between 60 languages with a "
            "domain-tuned neural engine, keeping Markdown, HTML or DOCX formatting intact. "
            "Glossaries are honored so brand and product names stay untranslated."
        ),
        "category": "translation",
        "tags": ["translation", "machine-translation", "documents"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "2.00",
        "estimated_delivery": "< 2 minutes",
        "input_schema": {
            "type": "object",
            "required": ["source_url", "target_language"],
            "properties": {
                "source_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the document (TXT, MD, HTML or DOCX)",
                },
                "source_language": {
                    "type": "string",
                    "description": "Source language code; detected if omitted",
                    "pattern": "^[a-z]{2}(-[A-Z]{2})?$",
                },
                "target_language": {
                    "type": "string",
                    "description": "Target language code, e.g. de or pt-BR",
                    "pattern": "^[a-z]{2}(-[A-Z]{2})?$",
                },
                "glossary": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Terms and their required translations",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["translated_url", "word_count"],
            "properties": {
                "translated_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the translated document",
                },
                "word_count": {"type": "integer", "description": "Source word count"},
                "detected_source_language": {
                    "type": "string",
                    "description": "Language code of the source",
                },
            },
        },
    },
    {
        "provider": "polyglot",
        "name": "Professional Human Translation",
        "description": (
            "A native-speaker translator with subject-matter experience translates your text, "
            "and a second linguist reviews it. Legal, medical and technical specialists are "
            "available. Quoted per word count and language pair."
        ),
        "category": "translation",
        "tags": ["translation", "native-speaker", "certified"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "40.00",
        "price_max": "600.00",
        "estimated_delivery": "2-4 days",
        "input_schema": {
            "type": "object",
            "required": ["source_url", "source_language", "target_language"],
            "properties": {
                "source_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the document",
                },
                "source_language": {
                    "type": "string",
                    "description": "Source language code",
                    "pattern": "^[a-z]{2}(-[A-Z]{2})?$",
                },
                "target_language": {
                    "type": "string",
                    "description": "Target language code",
                    "pattern": "^[a-z]{2}(-[A-Z]{2})?$",
                },
                "domain": {
                    "type": "string",
                    "enum": ["general", "legal", "medical", "technical", "marketing"],
                    "description": "Subject area",
                    "default": "general",
                },
                "certified": {
                    "type": "boolean",
                    "description": "Need a signed certificate of accuracy",
                    "default": False,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["translated_url"],
            "properties": {
                "translated_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the translated document",
                },
                "certificate_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Certificate of accuracy, when requested",
                },
                "translator_notes": {
                    "type": "string",
                    "description": "Notes on ambiguous passages",
                },
            },
        },
    },
    {
        "provider": "polyglot",
        "name": "Website Localization",
        "description": (
            "Adapts a whole website or app for a new market: translation of UI strings and "
            "pages, culturally adjusted examples, currency and date formats, and multilingual "
            "SEO with hreflang tags. Works from JSON, PO, XLIFF or a live site."
        ),
        "category": "translation",
        "tags": ["translation", "localization", "i18n"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "300.00",
        "price_max": "2500.00",
        "estimated_delivery": "5-10 days",
        "input_schema": {
            "type": "object",
            "required": ["source", "target_languages"],
            "properties": {
                "source": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the site or to a string file (JSON, PO, XLIFF)",
                },
                "target_languages": {
                    "type": "array",
                    "description": "Languages to localize into",
                    "items": {"type": "string", "pattern": "^[a-z]{2}(-[A-Z]{2})?$"},
                    "minItems": 1,
                },
                "word_count": {
                    "type": "integer",
                    "description": "Approximate word count, if known",
                    "minimum": 1,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["files"],
            "properties": {
                "files": {
                    "type": "array",
                    "description": "Localized files per language",
                    "items": {
                        "type": "object",
                        "description": "A file",
                        "properties": {
                            "language": {"type": "string"},
                            "url": {"type": "string", "format": "uri"},
                        },
                    },
                },
                "hreflang_snippet": {"type": "string", "description": "HTML hreflang tags to add"},
            },
        },
    },
    {
        "provider": "polyglot",
        "name": "SEO Blog Article (1,500 words)",
        "description": (
            "A subject-matter writer researches and writes an original 1,500-word article "
            "around your target keyword, with headings, internal link suggestions, a meta "
            "description and two revisions. Plagiarism-checked and fact-checked."
        ),
        "category": "content",
        "tags": ["content", "seo", "blog", "copywriting"],
        "service_type": "human_service",
        "pricing_model": "fixed",
        "price": "120.00",
        "estimated_delivery": "3 days",
        "input_schema": {
            "type": "object",
            "required": ["topic", "target_keyword"],
            "properties": {
                "topic": {"type": "string", "description": "Working title or topic"},
                "target_keyword": {"type": "string", "description": "Primary keyword to rank for"},
                "audience": {"type": "string", "description": "Who the article is for"},
                "tone": {
                    "type": "string",
                    "enum": ["professional", "friendly", "technical", "playful"],
                    "description": "Voice of the article",
                    "default": "professional",
                },
                "language": {
                    "type": "string",
                    "description": "Language code",
                    "pattern": "^[a-z]{2}(-[A-Z]{2})?$",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["document_url", "word_count"],
            "properties": {
                "document_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Google Doc with the article",
                },
                "word_count": {"type": "integer", "description": "Final word count"},
                "meta_description": {"type": "string", "description": "Suggested meta description"},
                "plagiarism_score": {
                    "type": "number",
                    "description": "Share of text matching other sources",
                    "minimum": 0,
                    "maximum": 1,
                },
            },
        },
    },
    {
        "provider": "polyglot",
        "name": "Product Description Writer",
        "description": (
            "Turns product attributes into persuasive, unique product descriptions in three "
            "lengths, plus bullet points and an SEO title. Handles up to 25 products per "
            "request in any of 20 languages."
        ),
        "category": "content",
        "tags": ["content", "ecommerce", "copywriting"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "1.20",
        "estimated_delivery": "2 minutes",
        "input_schema": {
            "type": "object",
            "required": ["products"],
            "properties": {
                "products": {
                    "type": "array",
                    "description": "Products to describe",
                    "items": {
                        "type": "object",
                        "description": "A product",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "attributes": {
                                "type": "object",
                                "additionalProperties": {"type": "string"},
                            },
                        },
                    },
                    "minItems": 1,
                    "maxItems": 25,
                },
                "brand_voice": {
                    "type": "string",
                    "description": "A sentence or two describing your brand voice",
                },
                "language": {
                    "type": "string",
                    "description": "Output language code",
                    "pattern": "^[a-z]{2}(-[A-Z]{2})?$",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["descriptions"],
            "properties": {
                "descriptions": {
                    "type": "array",
                    "description": "One entry per product",
                    "items": {
                        "type": "object",
                        "description": "Copy for a product",
                        "properties": {
                            "name": {"type": "string"},
                            "short": {"type": "string"},
                            "long": {"type": "string"},
                            "bullets": {"type": "array", "items": {"type": "string"}},
                            "seo_title": {"type": "string"},
                        },
                    },
                }
            },
        },
    },
    {
        "provider": "polyglot",
        "name": "Long Document Summarizer",
        "description": (
            "Summarizes reports, transcripts or articles of up to 50,000 words into an "
            "executive summary, key points and action items, with citations back to the source "
            "paragraphs."
        ),
        "category": "content",
        "tags": ["content", "summary", "research"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "0.50",
        "estimated_delivery": "< 1 minute",
        "input_schema": {
            "type": "object",
            "required": ["source_url"],
            "properties": {
                "source_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the text, PDF or web page",
                },
                "length": {
                    "type": "string",
                    "enum": ["brief", "standard", "detailed"],
                    "description": "Summary length",
                    "default": "standard",
                },
                "focus": {
                    "type": "string",
                    "description": "Optional question or angle the summary should focus on",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["summary", "key_points"],
            "properties": {
                "summary": {"type": "string", "description": "Executive summary"},
                "key_points": {
                    "type": "array",
                    "description": "Main points",
                    "items": {"type": "string"},
                },
                "action_items": {
                    "type": "array",
                    "description": "Suggested next steps",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "polyglot",
        "name": "Language Detection",
        "description": (
            "Identifies the language of a text snippet among 170 languages and returns the top "
            "candidates with confidence scores. Reliable from about 20 characters."
        ),
        "category": "translation",
        "tags": ["language", "detection", "nlp"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.001",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["text"],
            "properties": {
                "text": {
                    "type": "string",
                    "description": "Text to classify",
                    "minLength": 1,
                    "maxLength": 10000,
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["language", "confidence"],
            "properties": {
                "language": {
                    "type": "string",
                    "description": "Most likely language code (ISO 639-1)",
                },
                "confidence": {
                    "type": "number",
                    "description": "Confidence of the top candidate",
                    "minimum": 0,
                    "maximum": 1,
                },
                "candidates": {
                    "type": "array",
                    "description": "Other candidates",
                    "items": {
                        "type": "object",
                        "description": "A candidate",
                        "properties": {
                            "language": {"type": "string"},
                            "confidence": {"type": "number"},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "polyglot",
        "name": "Proofreading & Copy Editing",
        "description": (
            "A professional editor corrects grammar, spelling and punctuation, tightens wordy "
            "sentences and flags unclear passages, with all changes tracked. US, UK and "
            "Australian English available; quoted per 1,000 words."
        ),
        "category": "content",
        "tags": ["content", "editing", "proofreading"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "25.00",
        "price_max": "300.00",
        "estimated_delivery": "24-48h",
        "input_schema": {
            "type": "object",
            "required": ["document_url"],
            "properties": {
                "document_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the document (DOCX or Google Doc)",
                },
                "variant": {
                    "type": "string",
                    "enum": ["en-US", "en-GB", "en-AU"],
                    "description": "English variant",
                    "default": "en-US",
                },
                "style_guide": {
                    "type": "string",
                    "enum": ["chicago", "ap", "apa", "none"],
                    "description": "Style guide to follow",
                    "default": "none",
                },
                "level": {
                    "type": "string",
                    "enum": ["proofread", "copy_edit", "line_edit"],
                    "description": "Depth of edit",
                    "default": "copy_edit",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["edited_url"],
            "properties": {
                "edited_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Document with tracked changes",
                },
                "clean_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Clean copy with changes accepted",
                },
                "editor_notes": {"type": "string", "description": "Summary of recurring issues"},
            },
        },
    },
    # -------------------- Pixel North Design (pixelnorth)
    {
        "provider": "pixelnorth",
        "name": "Logo Design",
        "description": (
            "A senior designer sketches three distinct logo concepts from your brief, then "
            "refines the one you pick through two revision rounds. You receive vector files "
            "(SVG, EPS, PDF), PNGs in all sizes and a one-page usage guide."
        ),
        "category": "design",
        "tags": ["logo", "branding", "vector"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "250.00",
        "price_max": "1200.00",
        "estimated_delivery": "5-7 days",
        "input_schema": {
            "type": "object",
            "required": ["brand_name", "brief"],
            "properties": {
                "brand_name": {"type": "string", "description": "Name that appears in the logo"},
                "tagline": {"type": "string", "description": "Optional tagline"},
                "brief": {
                    "type": "string",
                    "description": (
                        "What the company does, its audience and the feeling the logo should convey"
                    ),
                    "minLength": 30,
                    "maxLength": 4000,
                },
                "style": {
                    "type": "string",
                    "enum": ["wordmark", "lettermark", "symbol", "combination", "emblem"],
                    "description": "Preferred style",
                },
                "colors": {
                    "type": "array",
                    "description": "Preferred colors as hex codes",
                    "items": {"type": "string", "pattern": "^#[0-9a-fA-F]{6}$"},
                    "maxItems": 5,
                },
                "references": {
                    "type": "array",
                    "description": "Links to logos you like",
                    "items": {"type": "string", "format": "uri"},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["files"],
            "properties": {
                "concepts": {
                    "type": "array",
                    "description": "Preview images of the initial concepts",
                    "items": {"type": "string", "format": "uri"},
                },
                "files": {
                    "type": "array",
                    "description": "Final deliverable files",
                    "items": {
                        "type": "object",
                        "description": "A file",
                        "properties": {
                            "format": {"type": "string", "enum": ["svg", "eps", "pdf", "png"]},
                            "url": {"type": "string", "format": "uri"},
                        },
                    },
                },
                "usage_guide_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "One-page logo usage guide",
                },
            },
        },
    },
    {
        "provider": "pixelnorth",
        "name": "Brand Identity Kit",
        "description": (
            "A complete visual identity: logo suite, color system, typography, iconography, "
            "business cards, social templates and a 20-page brand guidelines PDF. Includes a "
            "discovery workshop and three revision rounds."
        ),
        "category": "design",
        "tags": ["branding", "identity", "style-guide"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "900.00",
        "price_max": "4500.00",
        "estimated_delivery": "2-3 weeks",
        "input_schema": {
            "type": "object",
            "required": ["brand_name", "brief"],
            "properties": {
                "brand_name": {"type": "string", "description": "Brand name"},
                "brief": {
                    "type": "string",
                    "description": "Company, audience, competitors and positioning",
                    "maxLength": 6000,
                },
                "existing_logo_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Current logo, if it should be kept or evolved",
                },
                "deliverables": {
                    "type": "array",
                    "description": "Extra items needed",
                    "items": {
                        "type": "string",
                        "enum": [
                            "business_cards",
                            "social_templates",
                            "pitch_deck",
                            "email_signature",
                            "merch",
                        ],
                    },
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["guidelines_url", "assets_url"],
            "properties": {
                "guidelines_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Brand guidelines PDF",
                },
                "assets_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Zip with all source files",
                },
                "palette": {
                    "type": "array",
                    "description": "Brand colors as hex codes",
                    "items": {"type": "string"},
                },
                "fonts": {
                    "type": "array",
                    "description": "Typefaces used",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "pixelnorth",
        "name": "Social Media Graphics Pack",
        "description": (
            "Ten on-brand graphics for Instagram, LinkedIn and X in the right sizes, plus "
            "editable Figma and Canva templates so your team or your agent can make more later."
        ),
        "category": "design",
        "tags": ["social-media", "graphics", "templates"],
        "service_type": "human_service",
        "pricing_model": "fixed",
        "price": "150.00",
        "estimated_delivery": "3 days",
        "input_schema": {
            "type": "object",
            "required": ["brand_guidelines_url", "topics"],
            "properties": {
                "brand_guidelines_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Logo and brand guidelines",
                },
                "topics": {
                    "type": "array",
                    "description": "Topic or headline for each graphic",
                    "items": {"type": "string"},
                    "minItems": 1,
                    "maxItems": 10,
                },
                "platforms": {
                    "type": "array",
                    "description": "Target platforms",
                    "items": {"type": "string", "enum": ["instagram", "linkedin", "x", "facebook"]},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["images", "template_url"],
            "properties": {
                "images": {
                    "type": "array",
                    "description": "Exported graphics",
                    "items": {"type": "string", "format": "uri"},
                },
                "template_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Editable Figma or Canva template",
                },
            },
        },
    },
    {
        "provider": "pixelnorth",
        "name": "Favicon & App Icon Generator",
        "description": (
            "Upload one square image and receive every favicon and app icon size browsers and "
            "devices ask for: ICO, Apple touch icons, Android maskable icons, a web manifest "
            "and the HTML to paste into your page head."
        ),
        "category": "design",
        "tags": ["favicon", "icons", "pwa"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "0.75",
        "estimated_delivery": "< 1 minute",
        "input_schema": {
            "type": "object",
            "required": ["image_url"],
            "properties": {
                "image_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Square source image, ideally SVG or at least 512x512 PNG",
                },
                "background_color": {
                    "type": "string",
                    "description": "Background for maskable icons",
                    "pattern": "^#[0-9a-fA-F]{6}$",
                    "default": "#ffffff",
                },
                "app_name": {"type": "string", "description": "Name for the web manifest"},
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["archive_url", "html"],
            "properties": {
                "archive_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Zip with all icon files",
                },
                "html": {"type": "string", "description": "Snippet for the HTML head"},
                "manifest": {"type": "object", "description": "Generated web manifest"},
            },
        },
    },
    {
        "provider": "pixelnorth",
        "name": "Color Palette Extraction",
        "description": (
            "Extracts the dominant colors from an image or a web page, returning hex, RGB and "
            "HSL values, the share of each color and accessible text colors to pair with them."
        ),
        "category": "design",
        "tags": ["color", "palette", "images"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.01",
        "estimated_delivery": "< 2 seconds",
        "input_schema": {
            "type": "object",
            "required": ["source_url"],
            "properties": {
                "source_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Image or web page URL",
                },
                "max_colors": {
                    "type": "integer",
                    "description": "Maximum colors to return",
                    "minimum": 2,
                    "maximum": 12,
                    "default": 6,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["colors"],
            "properties": {
                "colors": {
                    "type": "array",
                    "description": "Colors by prominence",
                    "items": {
                        "type": "object",
                        "description": "A color",
                        "properties": {
                            "hex": {"type": "string"},
                            "rgb": {
                                "type": "array",
                                "items": {"type": "integer"},
                                "minItems": 3,
                                "maxItems": 3,
                            },
                            "share": {"type": "number"},
                            "text_color": {
                                "type": "string",
                                "description": "Readable text color on it",
                            },
                        },
                    },
                }
            },
        },
    },
    {
        "provider": "pixelnorth",
        "name": "Landing Page UI Design",
        "description": (
            "A conversion-focused landing page designed in Figma, desktop and mobile, with a "
            "component library your developers can build from. Copy suggestions and two "
            "revision rounds included."
        ),
        "category": "design",
        "tags": ["ui", "landing-page", "figma", "web-design"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "600.00",
        "price_max": "2500.00",
        "estimated_delivery": "5-7 days",
        "input_schema": {
            "type": "object",
            "required": ["product", "goal"],
            "properties": {
                "product": {
                    "type": "string",
                    "description": "What you sell and to whom",
                    "maxLength": 3000,
                },
                "goal": {
                    "type": "string",
                    "enum": ["signup", "demo_request", "purchase", "waitlist", "download"],
                    "description": "Primary conversion goal",
                },
                "brand_guidelines_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Existing brand assets, if any",
                },
                "inspiration": {
                    "type": "array",
                    "description": "Pages you like",
                    "items": {"type": "string", "format": "uri"},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["figma_url"],
            "properties": {
                "figma_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Figma file with the designs",
                },
                "preview_images": {
                    "type": "array",
                    "description": "Exported previews",
                    "items": {"type": "string", "format": "uri"},
                },
            },
        },
    },
    {
        "provider": "pixelnorth",
        "name": "Image Background Removal",
        "description": (
            "Removes the background from product shots, portraits or logos with hair-level edge "
            "precision. Returns a transparent PNG or the subject on a solid color of your "
            "choice."
        ),
        "category": "design",
        "tags": ["images", "background-removal", "ecommerce"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "0.50",
        "estimated_delivery": "< 30 seconds",
        "input_schema": {
            "type": "object",
            "required": ["image_url"],
            "properties": {
                "image_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Image to process (JPEG, PNG or WebP, up to 25 MB)",
                },
                "background": {
                    "type": "string",
                    "description": "Hex color for the new background; omit for transparent",
                    "pattern": "^#[0-9a-fA-F]{6}$",
                },
                "crop_to_subject": {
                    "type": "boolean",
                    "description": "Trim empty space around the subject",
                    "default": False,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["image_url"],
            "properties": {
                "image_url": {"type": "string", "format": "uri", "description": "Processed image"},
                "width": {"type": "integer", "description": "Width in pixels"},
                "height": {"type": "integer", "description": "Height in pixels"},
            },
        },
    },
    {
        "provider": "pixelnorth",
        "name": "Accessibility Contrast Check",
        "description": (
            "Audits a foreground and background color pair against WCAG 2.2 contrast rules for "
            "normal and large text, and suggests the nearest compliant colors if it fails."
        ),
        "category": "design",
        "tags": ["accessibility", "wcag", "a11y", "contrast"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.005",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["foreground", "background"],
            "properties": {
                "foreground": {
                    "type": "string",
                    "description": "Text color as hex",
                    "pattern": "^#[0-9a-fA-F]{6}$",
                },
                "background": {
                    "type": "string",
                    "description": "Background color as hex",
                    "pattern": "^#[0-9a-fA-F]{6}$",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["ratio", "aa_normal", "aaa_normal"],
            "properties": {
                "ratio": {"type": "number", "description": "Contrast ratio, e.g. 4.6"},
                "aa_normal": {"type": "boolean", "description": "Passes AA for normal text"},
                "aa_large": {"type": "boolean", "description": "Passes AA for large text"},
                "aaa_normal": {"type": "boolean", "description": "Passes AAA for normal text"},
                "suggested_foreground": {
                    "type": ["string", "null"],
                    "description": "Closest passing text color",
                },
            },
        },
    },
    # -------------------- Ledger & Lex Research (ledgerlex)
    {
        "provider": "ledgerlex",
        "name": "GDPR Privacy Policy Review",
        "description": (
            "A privacy lawyer reviews your privacy policy and cookie banner against the GDPR "
            "and ePrivacy rules, checks that they match what your site actually collects, and "
            "returns a redlined policy with a list of gaps. UK GDPR and CCPA addenda are "
            "available."
        ),
        "category": "legal",
        "tags": ["gdpr", "privacy", "compliance", "policy"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "300.00",
        "price_max": "1200.00",
        "estimated_delivery": "3-5 days",
        "input_schema": {
            "type": "object",
            "required": ["policy_url", "site_url"],
            "properties": {
                "policy_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the current privacy policy",
                },
                "site_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Website or app the policy covers",
                },
                "jurisdictions": {
                    "type": "array",
                    "description": "Regimes to cover",
                    "items": {"type": "string", "enum": ["eu_gdpr", "uk_gdpr", "ccpa", "lgpd"]},
                    "default": ["eu_gdpr"],
                },
                "processors": {
                    "type": "array",
                    "description": "Third-party processors you use, e.g. Stripe, Google Analytics",
                    "items": {"type": "string"},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["redline_url", "gaps"],
            "properties": {
                "redline_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Policy with tracked changes",
                },
                "gaps": {
                    "type": "array",
                    "description": "Compliance gaps found",
                    "items": {
                        "type": "object",
                        "description": "A gap",
                        "properties": {
                            "article": {"type": "string", "description": "e.g. GDPR Art. 13(1)(c)"},
                            "issue": {"type": "string"},
                            "risk": {"type": "string", "enum": ["low", "medium", "high"]},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "Terms of Service Drafting",
        "description": (
            "A lawyer drafts terms of service tailored to your product and business model: "
            "SaaS, marketplace, API or consumer app. Covers liability caps, acceptable use, "
            "payments, termination and governing law."
        ),
        "category": "legal",
        "tags": ["legal", "terms", "saas", "contracts"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "400.00",
        "price_max": "1500.00",
        "estimated_delivery": "5 days",
        "input_schema": {
            "type": "object",
            "required": ["product_description", "business_model", "governing_law"],
            "properties": {
                "product_description": {
                    "type": "string",
                    "description": "What the product does",
                    "maxLength": 4000,
                },
                "business_model": {
                    "type": "string",
                    "enum": ["subscription", "usage_based", "marketplace", "one_time", "free"],
                    "description": "How you charge",
                },
                "governing_law": {
                    "type": "string",
                    "description": "Country or state whose law should govern",
                },
                "has_user_content": {
                    "type": "boolean",
                    "description": "Users can upload or publish content",
                    "default": False,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["document_url"],
            "properties": {
                "document_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Draft terms (DOCX)",
                },
                "explainer_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Plain-language explanation of key clauses",
                },
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "Financial Statement Analysis",
        "description": (
            "A CFA charterholder analyzes three years of financial statements: profitability, "
            "liquidity, cash conversion, working capital and red flags, benchmarked against "
            "sector peers. Ideal for acquisitions, investments or vendor due diligence."
        ),
        "category": "finance",
        "tags": ["finance", "analysis", "due-diligence"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "500.00",
        "price_max": "2500.00",
        "estimated_delivery": "5-7 days",
        "input_schema": {
            "type": "object",
            "required": ["company_name", "statements_url"],
            "properties": {
                "company_name": {"type": "string", "description": "Company to analyze"},
                "statements_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the financial statements (PDF or XLSX)",
                },
                "purpose": {
                    "type": "string",
                    "enum": ["investment", "acquisition", "lending", "vendor_review", "other"],
                    "description": "Why you need the analysis",
                },
                "peers": {
                    "type": "array",
                    "description": "Peer companies to benchmark against",
                    "items": {"type": "string"},
                    "maxItems": 5,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["report_url", "red_flags"],
            "properties": {
                "report_url": {"type": "string", "format": "uri", "description": "Full analysis"},
                "ratios": {
                    "type": "object",
                    "additionalProperties": {"type": "number"},
                    "description": "Key ratios by name",
                },
                "red_flags": {
                    "type": "array",
                    "description": "Concerns found",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "Stock Quote Lookup",
        "description": (
            "Returns the latest price, change, volume, market cap and 52-week range for a "
            "listed equity or ETF on 30 exchanges. Real-time for US markets, 15-minute delayed "
            "elsewhere."
        ),
        "category": "finance",
        "tags": ["stocks", "market-data", "quotes"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.002",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["symbol"],
            "properties": {
                "symbol": {
                    "type": "string",
                    "description": "Ticker symbol, e.g. AAPL or VOD.L",
                    "pattern": "^[A-Z0-9.\\-]{1,12}$",
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["symbol", "price", "currency"],
            "properties": {
                "symbol": {"type": "string", "description": "Ticker"},
                "price": {"type": "number", "description": "Last trade price"},
                "currency": {"type": "string", "description": "ISO 4217 currency"},
                "change_percent": {
                    "type": "number",
                    "description": "Change since previous close, in percent",
                },
                "volume": {"type": "integer", "description": "Shares traded today"},
                "market_cap": {"type": "number", "description": "Market capitalization"},
                "week52_high": {"type": "number", "description": "52-week high"},
                "week52_low": {"type": "number", "description": "52-week low"},
                "as_of": {"type": "string", "description": "Quote time", "format": "date-time"},
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "SEC Filing Summarizer",
        "description": (
            "Pulls a company's latest 10-K, 10-Q or 8-K from EDGAR and summarizes it: business "
            "changes, segment results, risk factor updates, guidance and anything unusual in "
            "the footnotes."
        ),
        "category": "finance",
        "tags": ["sec", "filings", "10-k", "summary"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "3.00",
        "estimated_delivery": "5 minutes",
        "input_schema": {
            "type": "object",
            "required": ["ticker"],
            "properties": {
                "ticker": {"type": "string", "description": "US ticker symbol or CIK"},
                "form": {
                    "type": "string",
                    "enum": ["10-K", "10-Q", "8-K", "S-1", "DEF 14A"],
                    "description": "Filing type",
                    "default": "10-K",
                },
                "filed_after": {
                    "type": "string",
                    "description": "Only consider filings after this date",
                    "format": "date",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["filing_url", "summary"],
            "properties": {
                "filing_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Link to the filing on EDGAR",
                },
                "filed": {"type": "string", "description": "Filing date", "format": "date"},
                "summary": {"type": "string", "description": "Summary of the filing"},
                "new_risk_factors": {
                    "type": "array",
                    "description": "Risk factors added since the previous filing",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "Market Research Report",
        "description": (
            "Analysts size your market (TAM, SAM, SOM), profile key competitors, interview up "
            "to ten customers or experts, and deliver a report with sources you can show to "
            "investors."
        ),
        "category": "research",
        "tags": ["research", "market-sizing", "tam"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "800.00",
        "price_max": "5000.00",
        "estimated_delivery": "1-2 weeks",
        "input_schema": {
            "type": "object",
            "required": ["market", "questions"],
            "properties": {
                "market": {
                    "type": "string",
                    "description": "Market or product category to research",
                },
                "geographies": {
                    "type": "array",
                    "description": "Regions to cover",
                    "items": {"type": "string"},
                },
                "questions": {
                    "type": "array",
                    "description": "The questions the report must answer",
                    "items": {"type": "string"},
                    "minItems": 1,
                },
                "include_interviews": {
                    "type": "boolean",
                    "description": "Include customer or expert interviews",
                    "default": False,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["report_url"],
            "properties": {
                "report_url": {"type": "string", "format": "uri", "description": "Final report"},
                "tam_usd": {"type": "number", "description": "Total addressable market in USD"},
                "sources": {
                    "type": "array",
                    "description": "Sources cited",
                    "items": {"type": "string", "format": "uri"},
                },
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "Competitor Landscape Brief",
        "description": (
            "Give us a company and get back a structured brief on its ten closest competitors: "
            "positioning, pricing, funding, headcount, recent launches and review sentiment, "
            "compiled from public sources."
        ),
        "category": "research",
        "tags": ["research", "competitors", "analysis"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "7.50",
        "estimated_delivery": "15 minutes",
        "input_schema": {
            "type": "object",
            "required": ["company"],
            "properties": {
                "company": {"type": "string", "description": "Company name or domain"},
                "max_competitors": {
                    "type": "integer",
                    "description": "How many competitors to profile",
                    "minimum": 3,
                    "maximum": 10,
                    "default": 10,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["competitors"],
            "properties": {
                "competitors": {
                    "type": "array",
                    "description": "Competitor profiles",
                    "items": {
                        "type": "object",
                        "description": "A competitor",
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string"},
                            "domain": {"type": "string"},
                            "positioning": {"type": "string"},
                            "pricing": {"type": "string"},
                            "total_funding_usd": {"type": ["number", "null"]},
                        },
                    },
                },
                "summary": {"type": "string", "description": "How the company compares overall"},
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "Trademark Availability Search",
        "description": (
            "A trademark attorney searches USPTO, EUIPO and WIPO registers plus common-law "
            "usage for conflicts with your proposed name or logo, and gives a clear opinion on "
            "registration risk in your chosen classes."
        ),
        "category": "legal",
        "tags": ["trademark", "ip", "branding"],
        "service_type": "human_service",
        "pricing_model": "fixed",
        "price": "175.00",
        "estimated_delivery": "48h",
        "input_schema": {
            "type": "object",
            "required": ["mark"],
            "properties": {
                "mark": {"type": "string", "description": "Word mark to search"},
                "logo_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Logo, for a figurative search",
                },
                "nice_classes": {
                    "type": "array",
                    "description": "Nice classification classes",
                    "items": {"type": "integer", "minimum": 1, "maximum": 45},
                },
                "jurisdictions": {
                    "type": "array",
                    "description": "Registers to search",
                    "items": {"type": "string", "enum": ["us", "eu", "uk", "wipo"]},
                    "default": ["us", "eu"],
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["risk", "opinion_url"],
            "properties": {
                "risk": {
                    "type": "string",
                    "enum": ["low", "moderate", "high"],
                    "description": "Registration risk",
                },
                "conflicts": {
                    "type": "array",
                    "description": "Potentially conflicting marks",
                    "items": {
                        "type": "object",
                        "description": "A conflict",
                        "properties": {
                            "mark": {"type": "string"},
                            "registration_number": {"type": "string"},
                            "jurisdiction": {"type": "string"},
                        },
                    },
                },
                "opinion_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Signed attorney opinion",
                },
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "Sanctions & PEP Screening",
        "description": (
            "Screens a person or company against OFAC, EU, UK and UN sanctions lists and global "
            "politically exposed persons data, using fuzzy name matching. Returns scored "
            "matches with their list sources."
        ),
        "category": "finance",
        "tags": ["compliance", "kyc", "aml", "sanctions"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.15",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["name"],
            "properties": {
                "name": {"type": "string", "description": "Full name of the person or entity"},
                "entity_type": {
                    "type": "string",
                    "enum": ["person", "organization"],
                    "description": "What is being screened",
                    "default": "person",
                },
                "date_of_birth": {
                    "type": "string",
                    "description": "Date of birth, to reduce false positives",
                    "format": "date",
                },
                "country": {"type": "string", "description": "ISO 3166-1 alpha-2 country code"},
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["hit", "matches"],
            "properties": {
                "hit": {
                    "type": "boolean",
                    "description": "True if any match scored above the threshold",
                },
                "matches": {
                    "type": "array",
                    "description": "Possible matches",
                    "items": {
                        "type": "object",
                        "description": "A match",
                        "properties": {
                            "name": {"type": "string"},
                            "list": {"type": "string"},
                            "score": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                },
                "screened_at": {
                    "type": "string",
                    "description": "Screening time",
                    "format": "date-time",
                },
            },
        },
    },
    {
        "provider": "ledgerlex",
        "name": "Contract Clause Extraction",
        "description": (
            "Reads a contract and extracts its key terms: parties, term and renewal, "
            "termination rights, liability caps, indemnities, governing law and unusual "
            "clauses, each with the page reference. Not legal advice."
        ),
        "category": "legal",
        "tags": ["legal", "contracts", "extraction"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "2.50",
        "estimated_delivery": "3 minutes",
        "input_schema": {
            "type": "object",
            "required": ["contract_url"],
            "properties": {
                "contract_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Contract as PDF or DOCX",
                },
                "perspective": {
                    "type": "string",
                    "enum": ["customer", "vendor", "neutral"],
                    "description": "Which side you are on",
                    "default": "neutral",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["parties", "clauses"],
            "properties": {
                "parties": {
                    "type": "array",
                    "description": "Contracting parties",
                    "items": {"type": "string"},
                },
                "clauses": {
                    "type": "array",
                    "description": "Extracted clauses",
                    "items": {
                        "type": "object",
                        "description": "A clause",
                        "properties": {
                            "type": {"type": "string"},
                            "text": {"type": "string"},
                            "page": {"type": "integer"},
                            "flag": {
                                "type": ["string", "null"],
                                "description": "Why it may be unfavorable",
                            },
                        },
                    },
                },
            },
        },
    },
    # -------------------- ChainProof Audits (chainproof)
    {
        "provider": "chainproof",
        "name": "Smart Contract Audit",
        "description": (
            "Two senior auditors review your Solidity or Vyper code line by line for "
            "reentrancy, access control, oracle manipulation, economic exploits and "
            "upgradeability risks, backed by fuzzing and formal checks. Includes a public "
            "report and a fix review. Quoted by lines of code."
        ),
        "category": "security",
        "tags": ["smart-contracts", "solidity", "audit", "web3"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "2000.00",
        "price_max": "15000.00",
        "estimated_delivery": "1-3 weeks",
        "input_schema": {
            "type": "object",
            "required": ["repository_url", "commit"],
            "properties": {
                "repository_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Repository with the contracts",
                },
                "commit": {
                    "type": "string",
                    "description": "Commit hash to audit",
                    "pattern": "^[0-9a-f]{7,40}$",
                },
                "in_scope": {
                    "type": "array",
                    "description": "Contract files in scope",
                    "items": {"type": "string"},
                    "minItems": 1,
                },
                "nsloc": {
                    "type": "integer",
                    "description": "Normalized source lines of code, if known",
                    "minimum": 1,
                },
                "deadline": {
                    "type": "string",
                    "description": "Desired completion date",
                    "format": "date",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["report_url", "findings_summary"],
            "properties": {
                "report_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Public audit report",
                },
                "findings_summary": {
                    "type": "object",
                    "description": "Findings by severity",
                    "properties": {
                        "critical": {"type": "integer"},
                        "high": {"type": "integer"},
                        "medium": {"type": "integer"},
                        "low": {"type": "integer"},
                        "informational": {"type": "integer"},
                    },
                },
                "fix_review_commit": {
                    "type": "string",
                    "description": "Commit hash verified after fixes",
                },
            },
        },
    },
    {
        "provider": "chainproof",
        "name": "Token Contract Risk Scan",
        "description": (
            "Automated analysis of a deployed ERC-20 token: hidden mint functions, blacklists, "
            "transfer taxes, honeypot behavior, owner privileges, proxy upgradeability and "
            "liquidity lock status. Returns a risk score with evidence."
        ),
        "category": "security",
        "tags": ["web3", "tokens", "rug-pull", "scanner"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "5.00",
        "estimated_delivery": "5 minutes",
        "input_schema": {
            "type": "object",
            "required": ["address"],
            "properties": {
                "address": {
                    "type": "string",
                    "description": "Token contract address",
                    "pattern": "^0x[0-9a-fA-F]{40}$",
                },
                "chain": {
                    "type": "string",
                    "enum": ["ethereum", "base", "arbitrum", "optimism", "polygon"],
                    "description": "EVM network",
                    "default": "base",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["risk_score", "checks"],
            "properties": {
                "risk_score": {
                    "type": "integer",
                    "description": "0 is safest, 100 is riskiest",
                    "minimum": 0,
                    "maximum": 100,
                },
                "verified_source": {
                    "type": "boolean",
                    "description": "Source code verified on the block explorer",
                },
                "checks": {
                    "type": "array",
                    "description": "Individual checks",
                    "items": {
                        "type": "object",
                        "description": "A check",
                        "properties": {
                            "name": {"type": "string"},
                            "passed": {"type": "boolean"},
                            "detail": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "chainproof",
        "name": "Wallet Risk Score",
        "description": (
            "Scores an EVM address for exposure to sanctioned entities, mixers, scams and "
            "exploits, traced up to three hops. Helps agents decide whether to accept funds "
            "from a counterparty."
        ),
        "category": "blockchain",
        "tags": ["web3", "wallet", "aml", "risk"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.05",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["address"],
            "properties": {
                "address": {
                    "type": "string",
                    "description": "Wallet address",
                    "pattern": "^0x[0-9a-fA-F]{40}$",
                },
                "chain": {
                    "type": "string",
                    "enum": ["ethereum", "base", "arbitrum", "optimism", "polygon"],
                    "description": "EVM network",
                    "default": "base",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["address", "score", "category"],
            "properties": {
                "address": {"type": "string", "description": "The address scored"},
                "score": {
                    "type": "integer",
                    "description": "Risk from 0 (clean) to 100 (severe)",
                    "minimum": 0,
                    "maximum": 100,
                },
                "category": {
                    "type": "string",
                    "enum": ["clean", "low", "medium", "high", "sanctioned"],
                    "description": "Risk category",
                },
                "exposures": {
                    "type": "array",
                    "description": "Risky counterparties found",
                    "items": {
                        "type": "object",
                        "description": "An exposure",
                        "properties": {
                            "entity": {"type": "string"},
                            "type": {"type": "string"},
                            "hops": {"type": "integer"},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "chainproof",
        "name": "ENS & Basename Resolution",
        "description": (
            "Resolves an ENS name or Basename to an address, or an address back to its primary "
            "name, along with avatar and text records."
        ),
        "category": "blockchain",
        "tags": ["web3", "ens", "names"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.001",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["query"],
            "properties": {
                "query": {
                    "type": "string",
                    "description": "A name like vitalik.eth, or an 0x address",
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["address"],
            "properties": {
                "name": {"type": ["string", "null"], "description": "Primary name"},
                "address": {"type": ["string", "null"], "description": "Resolved address"},
                "avatar": {"type": ["string", "null"], "format": "uri"},
                "records": {
                    "type": "object",
                    "additionalProperties": {"type": "string"},
                    "description": "Text records such as url or com.twitter",
                },
            },
        },
    },
    {
        "provider": "chainproof",
        "name": "Gas Price Oracle",
        "description": (
            "Current base fee and priority fee recommendations for slow, standard and fast "
            "inclusion on major EVM networks, with estimated confirmation times."
        ),
        "category": "blockchain",
        "tags": ["web3", "gas", "fees"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.001",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["chain"],
            "properties": {
                "chain": {
                    "type": "string",
                    "enum": ["ethereum", "base", "arbitrum", "optimism", "polygon"],
                    "description": "EVM network",
                    "default": "base",
                }
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["base_fee_gwei", "slow", "standard", "fast"],
            "properties": {
                "base_fee_gwei": {"type": "number", "description": "Current base fee"},
                "slow": {
                    "type": "object",
                    "description": "Slow tier",
                    "properties": {
                        "priority_fee_gwei": {"type": "number"},
                        "seconds": {"type": "integer"},
                    },
                },
                "standard": {
                    "type": "object",
                    "description": "Standard tier",
                    "properties": {
                        "priority_fee_gwei": {"type": "number"},
                        "seconds": {"type": "integer"},
                    },
                },
                "fast": {
                    "type": "object",
                    "description": "Fast tier",
                    "properties": {
                        "priority_fee_gwei": {"type": "number"},
                        "seconds": {"type": "integer"},
                    },
                },
                "block_number": {
                    "type": "integer",
                    "description": "Block the estimate is based on",
                },
            },
        },
    },
    {
        "provider": "chainproof",
        "name": "Transaction Decoder",
        "description": (
            "Decodes any EVM transaction into plain language: the function called, arguments, "
            "token transfers, internal calls and emitted events, using verified ABIs and a "
            "signature database."
        ),
        "category": "blockchain",
        "tags": ["web3", "transactions", "decoding"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.01",
        "estimated_delivery": "< 2 seconds",
        "input_schema": {
            "type": "object",
            "required": ["tx_hash"],
            "properties": {
                "tx_hash": {
                    "type": "string",
                    "description": "Transaction hash",
                    "pattern": "^0x[0-9a-fA-F]{64}$",
                },
                "chain": {
                    "type": "string",
                    "enum": ["ethereum", "base", "arbitrum", "optimism", "polygon"],
                    "description": "EVM network",
                    "default": "base",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["status", "summary"],
            "properties": {
                "status": {
                    "type": "string",
                    "enum": ["success", "reverted", "pending"],
                    "description": "Execution status",
                },
                "summary": {
                    "type": "string",
                    "description": "One-sentence plain-language description",
                },
                "function": {"type": "string", "description": "Decoded function signature"},
                "transfers": {
                    "type": "array",
                    "description": "Token transfers",
                    "items": {
                        "type": "object",
                        "description": "A transfer",
                        "properties": {
                            "token": {"type": "string"},
                            "from": {"type": "string"},
                            "to": {"type": "string"},
                            "amount": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "chainproof",
        "name": "Solidity Gas Optimization Review",
        "description": (
            "An engineer profiles your contracts with Foundry gas reports and rewrites hot "
            "paths: storage packing, calldata over memory, unchecked math and cheaper custom "
            "errors. Each change comes with before/after gas numbers and tests."
        ),
        "category": "blockchain",
        "tags": ["web3", "solidity", "gas", "optimization"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "500.00",
        "price_max": "3000.00",
        "estimated_delivery": "4-6 days",
        "input_schema": {
            "type": "object",
            "required": ["repository_url"],
            "properties": {
                "repository_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Repository with a Foundry or Hardhat project",
                },
                "functions": {
                    "type": "array",
                    "description": "Functions that matter most to your users",
                    "items": {"type": "string"},
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["pull_request_url", "savings"],
            "properties": {
                "pull_request_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Pull request with the optimizations",
                },
                "savings": {
                    "type": "array",
                    "description": "Gas saved per function",
                    "items": {
                        "type": "object",
                        "description": "A function",
                        "properties": {
                            "function": {"type": "string"},
                            "before": {"type": "integer"},
                            "after": {"type": "integer"},
                        },
                    },
                },
            },
        },
    },
    # -------------------- Signal House Marketing (signalhouse)
    {
        "provider": "signalhouse",
        "name": "Ad Copy Variations",
        "description": (
            "Generates 20 ad variations for Google Search, Meta or LinkedIn within each "
            "platform's character limits, spanning different angles: pain point, social proof, "
            "urgency and offer."
        ),
        "category": "marketing",
        "tags": ["marketing", "ads", "copywriting", "ppc"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "1.50",
        "estimated_delivery": "2 minutes",
        "input_schema": {
            "type": "object",
            "required": ["product", "platform"],
            "properties": {
                "product": {
                    "type": "string",
                    "description": "What you are advertising and for whom",
                    "maxLength": 2000,
                },
                "platform": {
                    "type": "string",
                    "enum": ["google_search", "meta", "linkedin", "x"],
                    "description": "Ad platform",
                },
                "landing_page_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Where the ads will point",
                },
                "variations": {
                    "type": "integer",
                    "description": "How many variations",
                    "minimum": 5,
                    "maximum": 50,
                    "default": 20,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["ads"],
            "properties": {
                "ads": {
                    "type": "array",
                    "description": "Ad variations",
                    "items": {
                        "type": "object",
                        "description": "An ad",
                        "properties": {
                            "angle": {"type": "string"},
                            "headline": {"type": "string"},
                            "body": {"type": "string"},
                            "cta": {"type": "string"},
                        },
                    },
                }
            },
        },
    },
    {
        "provider": "signalhouse",
        "name": "Email Subject Line Tester",
        "description": (
            "Scores up to ten subject lines for predicted open rate, spam-trigger words, length "
            "on mobile and emotional tone, and suggests stronger rewrites for the weakest ones."
        ),
        "category": "marketing",
        "tags": ["email-marketing", "subject-lines", "testing"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "0.60",
        "estimated_delivery": "< 1 minute",
        "input_schema": {
            "type": "object",
            "required": ["subject_lines"],
            "properties": {
                "subject_lines": {
                    "type": "array",
                    "description": "Subject lines to test",
                    "items": {"type": "string", "maxLength": 200},
                    "minItems": 1,
                    "maxItems": 10,
                },
                "audience": {
                    "type": "string",
                    "enum": ["b2b", "b2c", "newsletter"],
                    "description": "Audience type",
                    "default": "b2c",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["results"],
            "properties": {
                "results": {
                    "type": "array",
                    "description": "Score per subject line",
                    "items": {
                        "type": "object",
                        "description": "A result",
                        "properties": {
                            "subject": {"type": "string"},
                            "score": {"type": "integer", "minimum": 0, "maximum": 100},
                            "spam_words": {"type": "array", "items": {"type": "string"}},
                            "rewrite": {"type": ["string", "null"]},
                        },
                    },
                }
            },
        },
    },
    {
        "provider": "signalhouse",
        "name": "Social Listening Snapshot",
        "description": (
            "Collects the last 30 days of public mentions of a brand across X, Reddit, Hacker "
            "News and review sites, then reports volume, sentiment, top themes and the posts "
            "worth replying to."
        ),
        "category": "marketing",
        "tags": ["social-media", "listening", "sentiment"],
        "service_type": "automated_service",
        "pricing_model": "fixed",
        "price": "4.00",
        "estimated_delivery": "10 minutes",
        "input_schema": {
            "type": "object",
            "required": ["brand"],
            "properties": {
                "brand": {"type": "string", "description": "Brand or product name"},
                "keywords": {
                    "type": "array",
                    "description": "Extra terms to track, e.g. product names",
                    "items": {"type": "string"},
                },
                "days": {
                    "type": "integer",
                    "description": "Look-back window in days",
                    "minimum": 1,
                    "maximum": 90,
                    "default": 30,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["mentions", "sentiment"],
            "properties": {
                "mentions": {"type": "integer", "description": "Total mentions found"},
                "sentiment": {
                    "type": "object",
                    "description": "Share of mentions by sentiment",
                    "properties": {
                        "positive": {"type": "number"},
                        "neutral": {"type": "number"},
                        "negative": {"type": "number"},
                    },
                },
                "themes": {
                    "type": "array",
                    "description": "Recurring topics",
                    "items": {"type": "string"},
                },
                "reply_worthy": {
                    "type": "array",
                    "description": "Posts worth responding to",
                    "items": {"type": "string", "format": "uri"},
                },
            },
        },
    },
    {
        "provider": "signalhouse",
        "name": "Marketing Campaign Strategy",
        "description": (
            "A growth strategist plans a launch or quarterly campaign end to end: positioning, "
            "channel mix, budget split, creative briefs, KPIs and a week-by-week calendar. "
            "Includes two working sessions with your team."
        ),
        "category": "marketing",
        "tags": ["marketing", "strategy", "go-to-market"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "500.00",
        "price_max": "2500.00",
        "estimated_delivery": "1 week",
        "input_schema": {
            "type": "object",
            "required": ["product", "goal", "budget_usd"],
            "properties": {
                "product": {
                    "type": "string",
                    "description": "Product and target customer",
                    "maxLength": 3000,
                },
                "goal": {
                    "type": "string",
                    "description": "What the campaign must achieve, with numbers if possible",
                },
                "budget_usd": {
                    "type": "number",
                    "description": "Media budget in USD",
                    "minimum": 0,
                },
                "start_date": {
                    "type": "string",
                    "description": "Campaign start date",
                    "format": "date",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["plan_url", "kpis"],
            "properties": {
                "plan_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Campaign plan document",
                },
                "channels": {
                    "type": "array",
                    "description": "Channel mix with budget share",
                    "items": {
                        "type": "object",
                        "description": "A channel",
                        "properties": {
                            "channel": {"type": "string"},
                            "budget_share": {"type": "number", "minimum": 0, "maximum": 1},
                        },
                    },
                },
                "kpis": {
                    "type": "array",
                    "description": "KPIs to track",
                    "items": {"type": "string"},
                },
            },
        },
    },
    {
        "provider": "signalhouse",
        "name": "Landing Page Conversion Review",
        "description": (
            "A conversion specialist audits one landing page against 60 CRO heuristics, records "
            "a narrated video walkthrough and hands over a ranked list of A/B test ideas with "
            "expected impact."
        ),
        "category": "marketing",
        "tags": ["cro", "conversion", "landing-page"],
        "service_type": "human_service",
        "pricing_model": "fixed",
        "price": "180.00",
        "estimated_delivery": "48h",
        "input_schema": {
            "type": "object",
            "required": ["page_url", "goal"],
            "properties": {
                "page_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Landing page to review",
                },
                "goal": {"type": "string", "description": "The action visitors should take"},
                "current_conversion_rate": {
                    "type": "number",
                    "description": "Current conversion rate, as a fraction",
                    "minimum": 0,
                    "maximum": 1,
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["video_url", "test_ideas"],
            "properties": {
                "video_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Narrated walkthrough",
                },
                "test_ideas": {
                    "type": "array",
                    "description": "A/B test ideas, highest impact first",
                    "items": {
                        "type": "object",
                        "description": "A test idea",
                        "properties": {
                            "hypothesis": {"type": "string"},
                            "impact": {"type": "string", "enum": ["high", "medium", "low"]},
                            "effort": {"type": "string", "enum": ["high", "medium", "low"]},
                        },
                    },
                },
            },
        },
    },
    {
        "provider": "signalhouse",
        "name": "UTM Link Builder & Shortener",
        "description": (
            "Builds a correctly encoded UTM-tagged URL from campaign parameters and returns a "
            "short branded link with click tracking."
        ),
        "category": "marketing",
        "tags": ["utm", "analytics", "links"],
        "service_type": "data_api",
        "pricing_model": "fixed",
        "price": "0.002",
        "estimated_delivery": "instant",
        "input_schema": {
            "type": "object",
            "required": ["url", "source", "medium", "campaign"],
            "properties": {
                "url": {"type": "string", "format": "uri", "description": "Destination URL"},
                "source": {"type": "string", "description": "utm_source, e.g. newsletter"},
                "medium": {"type": "string", "description": "utm_medium, e.g. email"},
                "campaign": {"type": "string", "description": "utm_campaign, e.g. spring_launch"},
                "term": {"type": "string", "description": "utm_term"},
                "content": {"type": "string", "description": "utm_content"},
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["tagged_url", "short_url"],
            "properties": {
                "tagged_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Full URL with UTM parameters",
                },
                "short_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Short tracking link",
                },
                "stats_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Click statistics page",
                },
            },
        },
    },
    {
        "provider": "signalhouse",
        "name": "Influencer Shortlist",
        "description": (
            "A researcher hand-picks 25 creators who fit your niche, audience and budget, "
            "vetted for fake followers and brand safety, with contact details and estimated "
            "rates."
        ),
        "category": "marketing",
        "tags": ["influencers", "creators", "outreach"],
        "service_type": "human_service",
        "pricing_model": "quote_required",
        "price_min": "150.00",
        "price_max": "700.00",
        "estimated_delivery": "3-5 days",
        "input_schema": {
            "type": "object",
            "required": ["niche", "platforms"],
            "properties": {
                "niche": {
                    "type": "string",
                    "description": "Topic or community, e.g. home espresso",
                },
                "platforms": {
                    "type": "array",
                    "description": "Platforms to search",
                    "items": {
                        "type": "string",
                        "enum": ["youtube", "instagram", "tiktok", "x", "twitch"],
                    },
                    "minItems": 1,
                },
                "audience_country": {
                    "type": "string",
                    "description": "Main audience country (ISO 3166-1 alpha-2)",
                },
                "follower_range": {
                    "type": "string",
                    "description": "Preferred size, e.g. 10k-100k",
                },
            },
        },
        "deliverable_schema": {
            "type": "object",
            "required": ["creators", "spreadsheet_url"],
            "properties": {
                "creators": {
                    "type": "array",
                    "description": "Shortlisted creators",
                    "items": {
                        "type": "object",
                        "description": "A creator",
                        "properties": {
                            "handle": {"type": "string"},
                            "platform": {"type": "string"},
                            "followers": {"type": "integer"},
                            "engagement_rate": {"type": "number"},
                            "estimated_rate_usd": {"type": "number"},
                        },
                    },
                },
                "spreadsheet_url": {
                    "type": "string",
                    "format": "uri",
                    "description": "Full shortlist with contacts",
                },
            },
        },
    },
]
