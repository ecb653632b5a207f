"""Alembic environment of the verifier database."""

import verifier.models as models
from servicekit.migrations_env import run

run(models.VerifierTable.metadata)
