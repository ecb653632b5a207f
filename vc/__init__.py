"""Credential primitives shared by the issuer, wallet and verifier; no web or database code.

One module per spec: `jwk` (RFC 7517/7638), `jws` (RFC 7515), `keys` (signers, sealing),
`did_jwk`, `did_key`, `did_web`, `vc_jwt` (VC-JWT / OB 3.0), `sd_jwt` (RFC 9901),
`sd_jwt_vc`, `token_status_list`, `bitstring_status_list`.
"""
