"""Admin API: institutions, their issuers, staff and signing keys."""

from __future__ import annotations

from fastapi import APIRouter, status

from issuer.admin_models import (
    InstitutionCreate,
    InstitutionPublic,
    InstitutionUpdate,
    IssuerCreate,
    IssuerPublic,
    SigningKeyPublic,
    StaffCreate,
    StaffPublic,
)
from issuer.api.deps import KeysDep, PrincipalDep, SessionDep, SettingsDep
from issuer.services import institutions, keys, staff
from servicekit.app import error_responses
from servicekit.database import RowId

router = APIRouter(prefix="/admin", tags=["admin: institutions"], responses=error_responses(401, 403, 404, 409))


@router.post("/institutions", status_code=status.HTTP_201_CREATED)
def create_institution(data: InstitutionCreate, session: SessionDep, principal: PrincipalDep,
                       key_store: KeysDep) -> InstitutionPublic:
    return institutions.create_institution(session=session, principal=principal, keys=key_store, data=data)


@router.get("/institutions")
def list_institutions(session: SessionDep, principal: PrincipalDep, settings: SettingsDep) -> list[InstitutionPublic]:
    return institutions.list_institutions(session=session, principal=principal, base_url=settings.base_url)


@router.get("/institutions/{institution_id}")
def get_institution(institution_id: RowId, session: SessionDep, principal: PrincipalDep,
                    settings: SettingsDep) -> InstitutionPublic:
    return institutions.get_institution(session=session, principal=principal, institution_id=institution_id,
                                        base_url=settings.base_url)


@router.patch("/institutions/{institution_id}")
def update_institution(institution_id: RowId, data: InstitutionUpdate, session: SessionDep, principal: PrincipalDep,
                       settings: SettingsDep) -> InstitutionPublic:
    return institutions.update_institution(session=session, principal=principal, institution_id=institution_id,
                                           data=data, base_url=settings.base_url)


@router.post("/institutions/{institution_id}/issuers", status_code=status.HTTP_201_CREATED)
def create_issuer(institution_id: RowId, data: IssuerCreate, session: SessionDep,
                  principal: PrincipalDep) -> IssuerPublic:
    return institutions.create_issuer(session=session, principal=principal, institution_id=institution_id, data=data)


@router.get("/institutions/{institution_id}/issuers")
def list_issuers(institution_id: RowId, session: SessionDep, principal: PrincipalDep) -> list[IssuerPublic]:
    return institutions.list_issuers(session=session, principal=principal, institution_id=institution_id)


@router.get("/institutions/{institution_id}/keys")
def list_keys(institution_id: RowId, session: SessionDep, principal: PrincipalDep) -> list[SigningKeyPublic]:
    principal.check_institution(institution_id)
    return keys.list_keys(session=session, institution_id=institution_id)


@router.post("/institutions/{institution_id}/keys/rotate", status_code=status.HTTP_201_CREATED)
def rotate_key(institution_id: RowId, session: SessionDep, principal: PrincipalDep,
               key_store: KeysDep) -> SigningKeyPublic:
    principal.check_institution_admin(institution_id)
    return keys.rotate_key(session=session, keys=key_store, institution_id=institution_id)


@router.post("/staff", status_code=status.HTTP_201_CREATED)
def create_staff(data: StaffCreate, session: SessionDep, principal: PrincipalDep) -> StaffPublic:
    return staff.create_staff(session=session, principal=principal, data=data)


@router.post("/staff/{staff_id}/api-keys", status_code=status.HTTP_201_CREATED)
def create_api_key(staff_id: RowId, session: SessionDep, principal: PrincipalDep) -> StaffPublic:
    return staff.create_api_key(session=session, principal=principal, staff_id=staff_id)
