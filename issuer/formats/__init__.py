"""Credential formats the issuer signs, one module per format, registered by configuration id.

Each format knows its entry in `credential_configurations_supported` (OpenID4VCI 1.0 §12.2.4,
App. A), which status list kind its credentials use, and how to build and sign one
credential from an `IssuanceContext`. The credential endpoint looks formats up in `FORMATS`,
so adding a format is adding a module and a line here.
"""

from __future__ import annotations

from issuer.formats.base import CredentialFormat, IssuanceContext
from issuer.formats.eu_learning import EU_LEARNING
from issuer.formats.ob3 import OPEN_BADGE_JWT
from issuer.formats.sd_jwt_vc import EDU_SD_JWT_VC

__all__ = ["FORMATS", "CredentialFormat", "IssuanceContext"]

FORMATS: dict[str, CredentialFormat] = {f.configuration_id: f for f in (OPEN_BADGE_JWT, EDU_SD_JWT_VC, EU_LEARNING)}
