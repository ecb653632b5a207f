"""Credential offers: resolve one (link or QR image), then accept it with the transaction code."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, UploadFile, status

from servicekit.app import error_responses
from wallet.api.deps import CurrentLearner, ServicesDep, SessionDep
from wallet.qr import read_qr_code
from wallet.receiving import accept_offer, resolve_offer
from wallet.schemas import OfferAccept, OfferSubmit

router = APIRouter(prefix="/api/v1/offers", tags=["offers"], responses=error_responses(401, 404, 422, 502))


@router.post("")
def submit(body: OfferSubmit, session: SessionDep, learner: CurrentLearner, services: ServicesDep) -> dict[str, Any]:
    """Resolve an offer (`openid-credential-offer://...` or an https link). With `accept`, also accept it."""
    view = resolve_offer(session=session, learner=learner, services=services, link=body.offer)
    if not body.accept:
        return view
    return accept_offer(session=session, learner=learner, services=services, pending_id=view["id"],
                        tx_code=body.tx_code)


@router.post("/qr")
async def submit_qr(image: Annotated[UploadFile, File(description="a photo or screenshot of the offer's QR code")],
                    session: SessionDep, learner: CurrentLearner, services: ServicesDep) -> dict[str, Any]:
    """Resolve the offer in an uploaded QR code image."""
    data = await image.read(services.settings.max_qr_image_bytes + 1)
    link = read_qr_code(data, max_bytes=services.settings.max_qr_image_bytes)
    return resolve_offer(session=session, learner=learner, services=services, link=link)


@router.post("/{offer_id}/accept", status_code=status.HTTP_201_CREATED)
def accept(offer_id: str, body: OfferAccept, session: SessionDep, learner: CurrentLearner,
           services: ServicesDep) -> dict[str, Any]:
    """Get, check and store the offered credentials."""
    return accept_offer(session=session, learner=learner, services=services, pending_id=offer_id,
                        tx_code=body.tx_code)
