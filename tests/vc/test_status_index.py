"""Random status list index allocation: no reuse, spread, nearly full and full lists."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from vc.errors import StatusError
from vc.status_index import (
    MIN_LIST_SIZE,
    RANDOM_ATTEMPTS,
    StatusListFull,
    allocate_index,
    pick_free_index,
)

SIZE = MIN_LIST_SIZE


class _Store:
    """Stands in for the service's table of used indices (unique per list)."""

    def __init__(self, used: set[int] | None = None) -> None:
        self.used = used if used is not None else set()
        self.lookups = 0

    def is_used(self, index: int) -> bool:
        self.lookups += 1
        return index in self.used

    def claim(self, index: int) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING: False when the index was taken meanwhile."""
        if index in self.used:
            return False
        self.used.add(index)
        return True


def test_no_index_is_handed_out_twice() -> None:
    store = _Store()
    indices = [allocate_index(SIZE, is_used=store.is_used, claim=store.claim) for _ in range(5000)]
    assert len(set(indices)) == 5000
    assert all(0 <= i < SIZE for i in indices)
    assert store.used == set(indices)


def test_indices_are_spread_over_the_list_not_sequential() -> None:
    picks = [pick_free_index(SIZE, lambda i: False) for _ in range(16_000)]
    assert picks != sorted(picks)
    assert len({b - a for a, b in zip(picks, picks[1:], strict=False)}) > 1000  # no fixed stride
    buckets = Counter(i * 16 // SIZE for i in picks)
    # 1,000 expected per sixteenth; a uniform source stays within +-25% (about 8 standard deviations)
    assert all(750 <= buckets[b] <= 1250 for b in range(16)), buckets
    assert SIZE * 0.45 < sum(picks) / len(picks) < SIZE * 0.55


def test_a_seeded_source_is_reproducible_for_tests() -> None:
    first = [pick_free_index(SIZE, lambda i: False, random.Random(7)) for _ in range(3)]
    again = [pick_free_index(SIZE, lambda i: False, random.Random(7)) for _ in range(3)]
    assert first == again


def test_nearly_full_list_falls_back_to_a_scan_and_picks_among_the_free() -> None:
    free = {5, 65_536, SIZE - 1}
    store = _Store(set(range(SIZE)) - free)
    seen = Counter(pick_free_index(SIZE, store.is_used) for _ in range(60))
    assert set(seen) == free  # every free index comes up: the scan picks uniformly, not the first found
    assert store.lookups > 60 * RANDOM_ATTEMPTS  # the scans happened


def test_filling_the_last_indices_then_full() -> None:
    store = _Store(set(range(SIZE)) - set(range(1000, 1020)))
    got = {allocate_index(SIZE, is_used=store.is_used, claim=store.claim) for _ in range(20)}
    assert got == set(range(1000, 1020))
    with pytest.raises(StatusListFull):
        allocate_index(SIZE, is_used=store.is_used, claim=store.claim)


def test_full_list_is_reported_without_scanning_when_the_count_is_known() -> None:
    store = _Store()
    with pytest.raises(StatusListFull) as excinfo:
        pick_free_index(SIZE, store.is_used, used_count=SIZE)
    assert store.lookups == 0
    assert isinstance(excinfo.value, StatusError)


def test_a_lost_race_is_retried_with_a_new_index() -> None:
    store = _Store()
    tried: list[int] = []

    def claim(index: int) -> bool:
        tried.append(index)
        if len(tried) <= 3:  # another issuer worker inserted it between pick and insert
            store.used.add(index)
            return False
        return store.claim(index)

    index = allocate_index(SIZE, is_used=store.is_used, claim=claim)
    assert index == tried[-1] and len(tried) == 4
    assert index not in tried[:3]


def test_endless_conflicts_give_up_with_a_status_error_not_list_full() -> None:
    with pytest.raises(StatusError) as excinfo:
        allocate_index(SIZE, is_used=lambda i: False, claim=lambda i: False, max_conflicts=5)
    assert not isinstance(excinfo.value, StatusListFull)


def test_lists_below_the_herd_privacy_minimum_are_refused() -> None:
    with pytest.raises(ValueError):
        pick_free_index(SIZE - 1, lambda i: False)
