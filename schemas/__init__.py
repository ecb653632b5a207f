"""Data shapes of the protocols and credentials eduwallet speaks, one module per spec.

- `oauth2`: RFC 6749 / RFC 6750 error responses (`ProtocolError` and its codes).
- `oid4vci`: OpenID for Verifiable Credential Issuance 1.0 messages and error codes.
- `oid4vp`: OpenID for Verifiable Presentations 1.0 requests, responses and error codes.
- `dcql`: the Digital Credentials Query Language of OpenID4VP 1.0 §6.
- `ob3`: Open Badges 3.0 data model.

Protocol models keep unknown members and parse outside input through `parse_model`, which
answers malformed input with the spec's error code. Every public name is re-exported here.
"""

from schemas import dcql, oauth2, ob3, oid4vci, oid4vp
from schemas.dcql import *  # noqa: F403
from schemas.oauth2 import *  # noqa: F403
from schemas.ob3 import *  # noqa: F403
from schemas.oid4vci import *  # noqa: F403
from schemas.oid4vp import *  # noqa: F403

__all__: list[str] = []
__all__ += dcql.__all__
__all__ += oauth2.__all__
__all__ += ob3.__all__
__all__ += oid4vci.__all__
__all__ += oid4vp.__all__
