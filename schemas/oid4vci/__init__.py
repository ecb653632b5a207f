"""OpenID for Verifiable Credential Issuance 1.0 (final, errata set 1): message models and error codes.

https://openid.net/specs/openid-4-verifiable-credential-issuance-1_0.html
(source: openid/OpenID4VCI `1.0/openid-4-verifiable-credential-issuance-1_0.md`)

- `common`: identifiers (grant URN, offer scheme, proof `typ`, format ids), `ProtocolModel`,
  `parse_model`, claims path syntax, well-known URL insertion.
- `offer`: Credential Offer (§4.1) and its `openid-credential-offer://` URI.
- `metadata`: Credential Issuer Metadata (§12.2, App. A) and Authorization Server Metadata (§12.3).
- `token`: Token Request/Response (§6), `openid_credential` authorization details (§5.1.1).
- `credential`: Nonce (§7), Credential (§8), Deferred (§9) and Notification (§11) messages.
- `errors`: the spec's error codes as `schemas.oauth2.ProtocolError` subclasses.
"""

from schemas.oid4vci import common, credential, errors, metadata, offer, token
from schemas.oid4vci.common import *  # noqa: F403
from schemas.oid4vci.credential import *  # noqa: F403
from schemas.oid4vci.errors import *  # noqa: F403
from schemas.oid4vci.metadata import *  # noqa: F403
from schemas.oid4vci.offer import *  # noqa: F403
from schemas.oid4vci.token import *  # noqa: F403

__all__: list[str] = []
__all__ += common.__all__
__all__ += credential.__all__
__all__ += errors.__all__
__all__ += metadata.__all__
__all__ += offer.__all__
__all__ += token.__all__
