"""settle: what a process built at start is kept out of later garbage collections."""

from __future__ import annotations

import gc

from nurture.heap import settle


def test_settle_freezes_what_exists_and_not_what_comes_after() -> None:
    kept = [object() for _ in range(1000)]
    try:
        settle()
        frozen = gc.get_freeze_count()
        assert frozen >= len(kept)
        later = [[n] for n in range(1000)]  # tracked containers, made after settling
        assert gc.get_freeze_count() == frozen and gc.is_tracked(later[0])
    finally:
        gc.unfreeze()
