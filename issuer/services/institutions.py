"""Institutions and their issuers (faculties, departments)."""

from __future__ import annotations

from sqlmodel import Session, col, select

from issuer.admin_models import InstitutionCreate, InstitutionPublic, InstitutionUpdate, IssuerCreate, IssuerPublic
from issuer.models import Institution, Issuer
from issuer.services.common import get_or_404, unix_now
from issuer.services.keys import KeyStore, institution_did, institution_issuer_url
from issuer.services.staff import Principal

__all__ = [
    "create_institution",
    "create_issuer",
    "default_issuer",
    "get_institution",
    "list_institutions",
    "list_issuers",
    "update_institution",
]


def institution_public(institution: Institution, base_url: str) -> InstitutionPublic:
    assert institution.id is not None
    return InstitutionPublic(id=institution.id, name=institution.name, homepage=institution.homepage,
                             country=institution.country, logo_uri=institution.logo_uri,
                             signing_alg=institution.signing_alg, did=institution_did(base_url, institution.id),
                             sd_jwt_vc_issuer=institution_issuer_url(base_url, institution.id),
                             created_at=institution.created_at)


def create_institution(*, session: Session, principal: Principal, keys: KeyStore, data: InstitutionCreate,
                       now: int | None = None) -> InstitutionPublic:
    """A new institution (service admins only) with its first signing key, so its did:web resolves at once."""
    principal.check_service_admin()
    now = unix_now(now)
    institution = Institution(name=data.name, homepage=str(data.homepage) if data.homepage else None,
                              country=data.country, logo_uri=data.logo_uri, signing_alg=data.signing_alg,
                              created_at=now)
    session.add(institution)
    session.flush()
    assert institution.id is not None
    keys.new_key(session=session, institution_id=institution.id, now=now)  # commits
    return institution_public(institution, keys.base_url)


def list_institutions(*, session: Session, principal: Principal, base_url: str) -> list[InstitutionPublic]:
    query = select(Institution).order_by(col(Institution.id))
    if not principal.is_service_admin:
        query = query.where(Institution.id == principal.institution_id)
    return [institution_public(i, base_url) for i in session.exec(query).all()]


def get_institution(*, session: Session, principal: Principal, institution_id: int, base_url: str) -> InstitutionPublic:
    principal.check_institution(institution_id)
    return institution_public(get_or_404(session, Institution, institution_id, "institution"), base_url)


def update_institution(*, session: Session, principal: Principal, institution_id: int, data: InstitutionUpdate,
                       base_url: str) -> InstitutionPublic:
    principal.check_institution_admin(institution_id)
    institution = get_or_404(session, Institution, institution_id, "institution")
    for name, value in data.model_dump(exclude_unset=True).items():
        if name == "name" and value is None:
            continue  # an institution keeps its (required) name: null leaves it as it is, as for badge classes
        setattr(institution, name, str(value) if name == "homepage" and value is not None else value)
    session.add(institution)
    session.commit()
    return institution_public(institution, base_url)


def _issuer_public(issuer: Issuer) -> IssuerPublic:
    assert issuer.id is not None
    return IssuerPublic(id=issuer.id, institution_id=issuer.institution_id, name=issuer.name,
                        description=issuer.description, homepage=issuer.homepage)


def create_issuer(*, session: Session, principal: Principal, institution_id: int, data: IssuerCreate,
                  now: int | None = None) -> IssuerPublic:
    principal.check_institution_admin(institution_id)
    get_or_404(session, Institution, institution_id, "institution")
    issuer = Issuer(institution_id=institution_id, name=data.name, description=data.description,
                    homepage=str(data.homepage) if data.homepage else None, created_at=unix_now(now))
    session.add(issuer)
    session.commit()
    return _issuer_public(issuer)


def list_issuers(*, session: Session, principal: Principal, institution_id: int) -> list[IssuerPublic]:
    principal.check_institution(institution_id)
    get_or_404(session, Institution, institution_id, "institution")
    rows = session.exec(select(Issuer).where(Issuer.institution_id == institution_id).order_by(col(Issuer.id))).all()
    return [_issuer_public(i) for i in rows]


def default_issuer(*, session: Session, institution: Institution, now: int | None = None) -> Issuer:
    """The institution's first issuer; made (named after the institution) when it has none."""
    issuer = session.exec(select(Issuer).where(Issuer.institution_id == institution.id)
                          .order_by(col(Issuer.id))).first()
    if issuer is None:
        assert institution.id is not None
        issuer = Issuer(institution_id=institution.id, name=institution.name, created_at=unix_now(now))
        session.add(issuer)
        session.flush()
    return issuer
