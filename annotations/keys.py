"""The key of an issued item set (Django-free: ranking's scheduler uses it too)."""

from __future__ import annotations

from collections.abc import Iterable


def item_set_key(item_ids: Iterable[int]) -> str:
    """Sorted item ids joined by "-": what ``Task.item_set_key`` stores, so the issuer can avoid
    giving an expert the same set twice."""
    return "-".join(str(i) for i in sorted(int(i) for i in item_ids))
