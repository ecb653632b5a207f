"""Factories for the issuer tests: an institution with a badge class, awards."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from issuer.admin_models import (
    AwardCreate,
    AwardPublic,
    BadgeClassCreate,
    BadgeClassPublic,
    InstitutionCreate,
    InstitutionPublic,
)
from issuer.services import awards, badges, institutions
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal
from issuer.settings import IssuerSettings


def make_institution(session: Session, admin: Principal, keys: KeyStore, name: str = "Universiteit Voorbeeld",
                     **fields: Any) -> InstitutionPublic:
    return institutions.create_institution(session=session, principal=admin, keys=keys,
                                           data=InstitutionCreate(name=name, **fields))


def make_badge(session: Session, principal: Principal, institution_id: int, base_url: str,
               name: str = "Web Security Essentials", **fields: Any) -> BadgeClassPublic:
    data = {"description": "Secure design and testing of web APIs.", "criteria_narrative": "Pass the final test.",
            "ects": 3.0, "eqf_level": 6, **fields}
    return badges.create_badge_class(session=session, principal=principal, base_url=base_url,
                                     data=BadgeClassCreate(institution_id=institution_id, name=name, **data))


def make_award(session: Session, principal: Principal, badge_class_id: int, settings: IssuerSettings,
               **fields: Any) -> AwardPublic:
    data = {"name": "Ada Lovelace", "email": "ada@student.example.nl", **fields}
    return awards.award_badge(session=session, principal=principal, badge_class_id=badge_class_id,
                              data=AwardCreate(**data), settings=settings)
