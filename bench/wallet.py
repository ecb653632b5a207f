"""Wallet benchmark: one learner with 10,000 stored credentials.

Run: ``python3 bench/wallet.py [--count 10000] [--types 100] [--runs 50]``. Builds the wallet
database (SQLite in a temporary folder) through the service layer, with real SD-JWT VCs signed
by a local issuer key, each bound to its own holder key and sealed under the learner's data key;
then measures, single process, and prints a table (asserts nothing):

* list: the newest page of 50, opened and rendered;
* search: a word occurring in 1 of `types` badge names (keyed-hash word index, then opened);
* DCQL matching: pre-selection through the keyed type index, opening the candidates and
  `vc.dcql.match_credentials`, for a query naming one badge type (1/`types` of the wallet) and,
  as the worst case, a query every credential answers;
* storage: database bytes per credential (file and write-ahead log), and sealed bytes per credential.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path and its name would hide the `wallet` package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path.pop(0)

from sqlalchemy import func
from sqlmodel import Session, select

from schemas.dcql import parse_dcql_query
from servicekit.database import make_engine, upgrade_database
from vc.dcql import match_credentials
from vc.keys import MasterKey, SoftwareSigner, generate_private_key
from vc.sd_jwt_vc import issue_sd_jwt_vc
from wallet.accounts import USERNAME_INDEX, load_service_index, register_learner
from wallet.app import MIGRATIONS
from wallet.models import StoredCredential
from wallet.presenting import candidates_for
from wallet.rendering import card, index_types, search_text, summarize
from wallet.store import NewCredential, add_credentials, list_credentials

ISSUER = "https://issuer.example.edu"
WORDS = ("Security", "Databases", "Statistics", "Ethics", "Robotics", "Geology", "Finance", "Design", "Biology",
         "Chemistry")


def _badge_name(kind: int) -> str:
    return f"{WORDS[kind % len(WORDS)]} Badge K{kind:03d}"


def _credential(signer: SoftwareSigner, kind: int, serial: int) -> NewCredential:
    holder = generate_private_key()
    claims = {"iss": ISSUER, "vct": f"{ISSUER}/vct/badge-{kind}", "iat": 1790000000, "exp": 1947680000,
              "given_name": "Ada", "family_name": "Lovelace", "student_id": f"s{serial:07d}", "grade": "A",
              "achievement": {"name": _badge_name(kind), "ects": 3, "description": "Completed with distinction."},
              "status": {"status_list": {"idx": serial, "uri": f"{ISSUER}/status/1"}}}
    issued = issue_sd_jwt_vc(claims, signer, holder_jwk=SoftwareSigner(holder).public_jwk,
                             disclosable=[("given_name",), ("family_name",), ("student_id",), ("grade",)])
    processed = {k: v for k, v in claims.items()} | {"cnf": {"jwk": SoftwareSigner(holder).public_jwk}}
    summary = summarize(format="dc+sd-jwt", claims=processed, types=[claims["vct"]], issuer=ISSUER, valid_from=None,
                        valid_until=None, credential_issuer=ISSUER, configuration_id="badge",
                        issuer_display=[{"name": "Example University", "locale": "en"}],
                        disclosable=[["given_name"], ["family_name"], ["student_id"], ["grade"]])
    return NewCredential(format="dc+sd-jwt", copies=[(issued.sd_jwt, holder)], summary=summary,
                         types=index_types([claims["vct"]]), claims=processed, search_text=search_text(summary, "en"))


def _timed(action: Callable[[], Any], runs: int) -> tuple[float, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--types", type=int, default=100, help="distinct badge types among the credentials")
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        db = Path(folder) / "wallet.db"
        engine = make_engine(f"sqlite:///{db}")
        upgrade_database(engine, MIGRATIONS)
        master_key = MasterKey.from_text(MasterKey.generate_text())
        signer = SoftwareSigner.generate(kid="k1")
        with Session(engine, expire_on_commit=False) as session:
            learner = register_learner(session=session, master_key=master_key,
                                       username_index=load_service_index(session, master_key, USERNAME_INDEX),
                                       username="bench.learner", password="benchmark password")
            started = time.perf_counter()
            batch: list[NewCredential] = []
            for serial in range(args.count):
                batch.append(_credential(signer, serial % args.types, serial))
                if len(batch) == 500:
                    add_credentials(session=session, learner=learner, credentials=batch)
                    batch = []
            if batch:
                add_credentials(session=session, learner=learner, credentials=batch)
            build = time.perf_counter() - started

            def list_page() -> None:
                for row in list_credentials(session=session, learner=learner, limit=50):
                    card(row.summary, locale="en", status="valid")

            def search() -> None:
                found = list_credentials(session=session, learner=learner, query="K007", limit=500)
                assert len(found) == args.count // args.types, len(found)

            one_type = parse_dcql_query({"credentials": [{
                "id": "badge", "format": "dc+sd-jwt", "meta": {"vct_values": [f"{ISSUER}/vct/badge-7"]},
                "claims": [{"path": ["achievement", "name"]}, {"path": ["grade"], "values": ["A"]}]}]})
            every_type = parse_dcql_query({"credentials": [{
                "id": "badge", "format": "dc+sd-jwt", "multiple": True,
                "meta": {"vct_values": [f"{ISSUER}/vct/badge-{k}" for k in range(args.types)]},
                "claims": [{"path": ["grade"]}]}]})

            def dcql(query: Any, expected: int) -> Callable[[], None]:
                def run() -> None:
                    _opened, candidates = candidates_for(session, learner, query)
                    match = match_credentials(query, candidates)
                    assert len(match.matches["badge"]) == expected
                return run

            rows = [("list newest 50", *_timed(list_page, args.runs)),
                    (f"search (1 in {args.types})", *_timed(search, args.runs)),
                    (f"DCQL, one type (1 in {args.types})", *_timed(dcql(one_type, args.count // args.types),
                                                                   args.runs)),
                    ("DCQL, every credential (worst case)", *_timed(dcql(every_type, args.count),
                                                                    max(3, args.runs // 10)))]
            sealed = session.exec(select(func.sum(func.length(StoredCredential.credential_sealed)
                                                  + func.length(StoredCredential.summary_sealed)))).one()
        engine.dispose()  # closing the last connection checkpoints the write-ahead log into the file
        size = sum(path.stat().st_size for path in (db, Path(f"{db}-wal")) if path.exists())

    print(f"wallet benchmark: {args.count} credentials of {args.types} types, one learner, SQLite, single process")
    print(f"  built in {build:.1f} s ({args.count / build:.0f} credentials/s: issue + seal + insert)")
    print(f"  {'operation':40s} {'median ms':>10s} {'p95 ms':>10s}")
    for name, median, p95 in rows:
        print(f"  {name:40s} {median:10.2f} {p95:10.2f}")
    print(f"  storage: {size / args.count:.0f} bytes per credential in the database file, "
          f"{(sealed or 0) / args.count:.0f} of them sealed credential and summary")
    print(f"  DCQL target (< 50 ms median over {args.count}, one type): "
          f"{'met' if rows[2][1] < 50 else 'NOT met'} ({rows[2][1]:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
