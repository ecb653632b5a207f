"""eduwallet issuer service. The institution's side: badge classes, awards, OpenID4VCI issuance, status lists."""
