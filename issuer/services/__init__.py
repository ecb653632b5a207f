"""The issuer's service layer: plain functions over the database, called by the thin routers in `issuer.api`.

Functions take keyword-only `session=`; they commit their own transactions and
raise `schemas.oauth2.ProtocolError` subclasses for anything the caller got wrong.
"""
