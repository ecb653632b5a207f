"""Alembic environment of the issuer database."""

from servicekit.migrations_env import run

import issuer.models as models

run(models.IssuerTable.metadata)
