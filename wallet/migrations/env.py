"""Alembic environment of the wallet database."""

import wallet.models as models
from servicekit.migrations_env import run

run(models.WalletTable.metadata)
