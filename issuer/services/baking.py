"""Baked badges: the award's badge image (PNG) with an OB 3.0 credential in it.

OB 3.0 §"Baked Badge" (https://www.imsglobal.org/spec/ob/v3p0/#baking): an `iTXt` chunk with the
keyword `openbadgecredential` holding the compact VC-JWT (`vc.baking`). The credential is a fresh
`EduCredential` with its own status index (so revoking the award revokes it too), not bound to a
holder key: the learner is named by the salted hash of their e-mail address, as OB 3.0 allows.
"""

from __future__ import annotations

from sqlmodel import Session

from issuer.models import BadgeClass
from issuer.services.awards import load_award
from issuer.services.badges import badge_image
from issuer.services.common import Conflict
from issuer.services.configurations import EDU_CREDENTIAL
from issuer.services.credentials import issue_credential
from issuer.services.images import default_badge_png
from issuer.services.keys import KeyStore
from issuer.services.staff import Principal
from issuer.settings import IssuerSettings
from vc.baking import bake_png

__all__ = ["baked_badge_png"]


def baked_badge_png(*, session: Session, principal: Principal, keys: KeyStore, settings: IssuerSettings,
                    award_id: int, now: int | None = None) -> bytes:
    award = load_award(session=session, principal=principal, award_id=award_id)
    if award.status != "valid":
        raise Conflict(f"the award is {award.status}")
    credential = issue_credential(session=session, keys=keys, settings=settings, award=award,
                                  configuration_id=EDU_CREDENTIAL, holder=None, now=now)
    session.commit()
    image, media_type = badge_image(session=session, badge_class_id=award.badge_class_id)
    if media_type != "image/png":  # an SVG badge: bake into the generated PNG
        badge = session.get(BadgeClass, award.badge_class_id)
        image = default_badge_png(badge.name if badge else "", award.badge_class_id)
    return bake_png(image, credential)
