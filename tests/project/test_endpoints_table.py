"""The README's table of endpoints and what each accepts is the one the views declare
(`manage.py endpoints_table --write` regenerates it)."""

from __future__ import annotations

from the402.endpoints_doc import BEGIN, END, README, endpoints_table


def test_the_readme_table_matches_the_views() -> None:
    text = README.read_text()
    assert BEGIN in text and END in text
    table = text.split(BEGIN, 1)[1].split(END, 1)[0].strip()
    assert table == endpoints_table(), "run `manage.py endpoints_table --write`"


def test_the_table_says_verify_takes_a_key_or_x402() -> None:
    row = next(r for r in endpoints_table().splitlines() if "`/v1/jobs/:job_id/verify`" in r)
    assert "X-API-Key" in row and "x402" in row
