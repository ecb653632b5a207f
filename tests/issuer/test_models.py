"""The issuer's tables: migrations agree with the models; constraints that keep things single-use and unique."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from issuer.models import Award, BadgeClass, Institution, IssuedCredential, Issuer, IssuerTable, StatusList


def test_migrations_match_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, IssuerTable.metadata)
    assert diff == []


def test_every_table_is_created_by_the_migrations(engine: Engine) -> None:
    from sqlalchemy import inspect

    assert set(IssuerTable.metadata.tables) <= set(inspect(engine).get_table_names())


def _award(session: Session) -> tuple[int, int]:
    institution = Institution(name="Uni")
    session.add(institution)
    session.flush()
    assert institution.id is not None
    issuer = Issuer(institution_id=institution.id, name="Faculty")
    session.add(issuer)
    session.flush()
    assert issuer.id is not None
    badge = BadgeClass(institution_id=institution.id, issuer_id=issuer.id, name="Badge")
    session.add(badge)
    session.flush()
    assert badge.id is not None
    award = Award(badge_class_id=badge.id, institution_id=institution.id, learner_name="A", learner_email="a@b.nl")
    status_list = StatusList(institution_id=institution.id, kind="token_status_list", size=131072)
    session.add_all([award, status_list])
    session.commit()
    assert award.id is not None and status_list.id is not None
    return award.id, status_list.id


def test_a_status_index_is_allocated_once_per_list(session: Session) -> None:
    award_id, list_id = _award(session)
    entry = {"award_id": award_id, "credential_configuration_id": "EduCredential", "status_list_id": list_id,
             "status_index": 4711, "signing_kid": "did:web:x#key-1"}
    session.add(IssuedCredential(credential_id="urn:uuid:1", **entry))
    session.commit()
    session.add(IssuedCredential(credential_id="urn:uuid:2", **entry))
    with pytest.raises(IntegrityError):
        session.commit()
