"""Alembic environment of the issuer database."""

import issuer.models as models
from servicekit.migrations_env import run

run(models.IssuerTable.metadata)
