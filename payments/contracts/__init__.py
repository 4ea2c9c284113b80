"""Compiled Solidity artifacts (built by ``node contracts/build.mjs``)."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

_ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"


@functools.lru_cache(maxsize=32)
def load_artifact(name: str) -> dict[str, Any]:
    """Return the artifact of contract ``name`` (e.g. ``"TestUSDC"``).

    The dict is cached and shared between callers: treat it as read-only.
    """
    if not name.isidentifier():
        raise ValueError(f"invalid contract name: {name!r}")
    path = _ARTIFACTS_DIR / f"{name}.json"
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LookupError(
            f"no artifact for contract {name!r} in {_ARTIFACTS_DIR} "
            "(run `node contracts/build.mjs`)"
        ) from None
    artifact: dict[str, Any] = json.loads(text)
    return artifact
