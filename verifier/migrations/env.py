"""Alembic environment of the verifier database."""

from servicekit.migrations_env import run

import verifier.models as models

run(models.VerifierTable.metadata)
