"""Dev-only tooling: the demo catalog (`catalog.json`, seeded by `manage.py seed_demo` on
devnet), the built-in demo provider (`provider`, mounted at `/demo/provider` on devnet only)
and synthetic catalogs for benchmarks (`bulk`, `manage.py seed_bulk`).

Nothing outside this package and its management commands imports it, and no route of a real
network (base-sepolia, base) reaches it.
"""
