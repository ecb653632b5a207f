"""Alembic environment of the wallet database."""

from servicekit.migrations_env import run

import wallet.models as models

run(models.WalletTable.metadata)
