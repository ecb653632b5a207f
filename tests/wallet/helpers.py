"""Helpers shared by the wallet tests."""

from __future__ import annotations

from pathlib import Path


def raw_database_bytes(db_path: Path) -> bytes:
    """Every byte SQLite keeps for a database: the file plus its write-ahead log, if any."""
    data = db_path.read_bytes()
    for suffix in ("-wal", "-journal"):
        extra = Path(f"{db_path}{suffix}")
        if extra.exists():
            data += extra.read_bytes()
    return data
