"""Interop tests against an implementation that is not ours (oid4vc-ts and sd-jwt-js under Node.js)."""
