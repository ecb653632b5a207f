"""`servicekit.throttle.LoginThrottle` on a real database (SQLite, or PostgreSQL when configured), clock given.

Every attempt takes its slot before the password is checked; these tests drive `admit` and `succeeded`
directly, at chosen times, and read the counters back from the table.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, select
from sqlmodel import Session

from servicekit.database import make_engine
from servicekit.throttle import ACCOUNT, ADDRESS, LoginThrottle, Slot, TooManyAttempts, login_attempt_table
from tests.servers import drop_database, new_database_url

TABLE = login_attempt_table(MetaData())
THROTTLE = LoginThrottle(TABLE, b"k" * 32)
ADA = THROTTLE.key(ACCOUNT, "ada")
ADDR = THROTTLE.key(ADDRESS, "192.0.2.1")
T0 = 1_700_000_000


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Engine]:
    url = new_database_url("throttle", tmp_path)
    engine = make_engine(url)
    TABLE.metadata.create_all(engine)
    try:
        yield engine
    finally:
        engine.dispose()
        drop_database(url)


def admit(db: Engine, *keys: str, now: int = T0) -> list[Slot]:
    with Session(db) as session:
        return THROTTLE.admit(session, keys, now=now)


def refused(db: Engine, *keys: str, now: int = T0) -> int:
    with Session(db) as session, pytest.raises(TooManyAttempts) as refusal:
        THROTTLE.admit(session, keys, now=now)
    return refusal.value.retry_after


def succeeded(db: Engine, slots: list[Slot]) -> None:
    with Session(db) as session:
        THROTTLE.succeeded(session, slots)


def counters(db: Engine) -> dict[str, tuple[int, int]]:
    """key -> (attempts counted, blocked until)."""
    with db.connect() as connection:
        rows = connection.execute(select(TABLE.c.key_hash, TABLE.c.failures, TABLE.c.blocked_until)).all()
    return {key: (failures, until) for key, failures, until in rows}


def test_the_attempt_reaching_the_limit_blocks_the_next_which_counts_for_no_key(db: Engine) -> None:
    for n in range(1, 5):
        assert admit(db, ADA, ADDR) == [Slot(ADA, T0, None), Slot(ADDR, T0, None)], n
    # The fifth attempt is let through (its password is still checked) and blocks the account for 2 s.
    assert admit(db, ADA, ADDR) == [Slot(ADA, T0, T0 + 2), Slot(ADDR, T0, None)]
    assert refused(db, ADA, ADDR) == 2
    assert refused(db, ADA, ADDR, now=T0 + 1) == 1
    assert counters(db) == {ADA: (5, T0 + 2), ADDR: (5, 0)}  # the refused ones counted for neither key
    # The block ran out: the next attempt is let through and blocks twice as long, and so on.
    assert admit(db, ADA, ADDR, now=T0 + 2)[0] == Slot(ADA, T0, T0 + 6)
    assert refused(db, ADA, now=T0 + 5) == 1
    assert admit(db, ADA, now=T0 + 6)[0] == Slot(ADA, T0, T0 + 14)
    assert counters(db)[ADA] == (7, T0 + 14)


def test_a_blocked_address_refuses_every_account_without_counting_it(db: Engine) -> None:
    for n in range(20):
        admit(db, THROTTLE.key(ACCOUNT, f"guess{n}"), ADDR)
    assert counters(db)[ADDR] == (20, T0 + 2)
    assert refused(db, ADA, ADDR, now=T0 + 1) == 1
    assert ADA not in counters(db)  # rolled back with the refusal
    admit(db, ADA)  # the account alone is not blocked
    assert counters(db)[ADA] == (1, 0)


def test_a_counter_restarts_a_window_after_the_attempt_that_started_it(db: Engine) -> None:
    other = THROTTLE.key(ACCOUNT, "grace")
    for _ in range(4):
        admit(db, ADA)
        admit(db, other)
    assert admit(db, ADA, now=T0 + 899) == [Slot(ADA, T0, T0 + 899 + 2)]  # still the same window: fifth
    assert admit(db, other, now=T0 + 900) == [Slot(other, T0 + 900, None)]  # a new window: first
    assert counters(db)[other] == (1, 0)


def test_a_right_password_clears_the_account_and_gives_the_address_its_slot_back(db: Engine) -> None:
    for _ in range(4):
        admit(db, ADA, ADDR)
    slots = admit(db, ADA, ADDR)  # the fifth attempt blocks the account while its password is checked
    assert refused(db, ADA, ADDR) == 2
    succeeded(db, slots)  # ... and it was right
    assert counters(db) == {ADDR: (4, 0)}
    admit(db, ADA, ADDR)
    assert counters(db) == {ADA: (1, 0), ADDR: (5, 0)}


def test_a_right_password_lifts_the_address_block_only_when_its_own_or_no_longer_earned(db: Engine) -> None:
    for n in range(18):
        admit(db, THROTTLE.key(ACCOUNT, f"guess{n}"), ADDR)
    # Learners behind one NAT. Two attempts in flight: the 20th blocks the address; the 19th was right, which
    # leaves 19 attempts: not enough for a block, so it is lifted.
    right = admit(db, ADA, ADDR)
    wrong = admit(db, THROTTLE.key(ACCOUNT, "guess18"), ADDR)
    assert right[1] == Slot(ADDR, T0, None) and wrong[1] == Slot(ADDR, T0, T0 + 2)
    succeeded(db, right)
    assert counters(db)[ADDR] == (19, 0)
    # The 20th attempt blocks the address while its password is checked; being right, it lifts its block.
    right = admit(db, ADA, ADDR)
    assert refused(db, THROTTLE.key(ACCOUNT, "grace"), ADDR) == 2
    succeeded(db, right)
    assert counters(db)[ADDR] == (19, 0)
    # A block earned by failures stays: the 20th fails; after its block, a right password blocks for 4 s while
    # it is checked; a wrong one slips in when that runs out and blocks for 8 s; the right one then ends.
    admit(db, THROTTLE.key(ACCOUNT, "guess19"), ADDR)
    right = admit(db, ADA, ADDR, now=T0 + 2)
    assert right[1] == Slot(ADDR, T0, T0 + 6)
    assert admit(db, THROTTLE.key(ACCOUNT, "guess20"), ADDR, now=T0 + 6)[1] == Slot(ADDR, T0, T0 + 14)
    succeeded(db, right)
    assert counters(db)[ADDR] == (21, T0 + 14)
    assert refused(db, ADDR, now=T0 + 7) == 7


def test_a_slot_from_a_window_that_restarted_is_not_given_back(db: Engine) -> None:
    slots = admit(db, ADDR)
    admit(db, ADDR)
    admit(db, ADDR, now=T0 + 900)  # the window restarts while the first attempt's password is checked
    succeeded(db, slots)
    assert counters(db)[ADDR] == (1, 0)


def test_a_parallel_burst_lets_exactly_the_limit_through(db: Engine) -> None:
    """30 threads, each its own connection, at once: the upsert is atomic, 5 take a slot, 25 are refused."""
    barrier = threading.Barrier(30)
    outcomes: list[str] = []

    def attempt() -> None:
        barrier.wait()
        with Session(db) as session:
            try:
                THROTTLE.admit(session, [ADA, ADDR], now=T0)
                outcomes.append("admitted")
            except TooManyAttempts:
                outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(30)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("admitted") == 5 and len(outcomes) == 30
    assert counters(db) == {ADA: (5, T0 + 2), ADDR: (5, 0)}
