"""The credential configurations this issuer offers (OpenID4VCI 1.0 §12.2.4 `credential_configurations_supported`).

- `EduCredential`: an OB 3.0 OpenBadgeCredential, format `jwt_vc_json` (the id the Dutch eduWallet pilot expects).
- `EduCredentialSdJwt`: the same achievement as an SD-JWT VC (`dc+sd-jwt`), `vct` per badge class.
- `EULearningCredential`: the EU learning credential SD-JWT VC (`urn:eu.europa.ec.eudi:learning:credential:1`).
"""

from __future__ import annotations

__all__ = [
    "CONFIGURATION_FORMATS",
    "DEFAULT_CONFIGURATION",
    "EDU_CREDENTIAL",
    "EDU_CREDENTIAL_SD_JWT",
    "EU_LEARNING_CREDENTIAL",
    "EU_LEARNING_VCT",
]

EDU_CREDENTIAL = "EduCredential"
EDU_CREDENTIAL_SD_JWT = "EduCredentialSdJwt"
EU_LEARNING_CREDENTIAL = "EULearningCredential"
EU_LEARNING_VCT = "urn:eu.europa.ec.eudi:learning:credential:1"

#: configuration id → format identifier
CONFIGURATION_FORMATS = {
    EDU_CREDENTIAL: "jwt_vc_json",
    EDU_CREDENTIAL_SD_JWT: "dc+sd-jwt",
    EU_LEARNING_CREDENTIAL: "dc+sd-jwt",
}
#: an award's primary format → the configuration offered by default
DEFAULT_CONFIGURATION = {"jwt_vc_json": EDU_CREDENTIAL, "dc+sd-jwt": EDU_CREDENTIAL_SD_JWT}
