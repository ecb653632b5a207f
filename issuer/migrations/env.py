"""Alembic environment of the issuer database."""

import issuer.models as models
import issuer.pages.models  # noqa: F401 - the pages' tables are in the same metadata
from servicekit.migrations_env import run

run(models.IssuerTable.metadata)
