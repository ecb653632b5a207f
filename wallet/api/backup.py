"""An encrypted full backup of the learner's wallet, and restoring one."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from servicekit.app import error_responses
from wallet.api.deps import CurrentLearner, SessionDep
from wallet.backup import create_backup, restore_backup
from wallet.schemas import BackupCreate, BackupRestore

router = APIRouter(prefix="/api/v1/backup", tags=["backup"], responses=error_responses(401))


@router.post("")
def backup(body: BackupCreate, session: SessionDep, learner: CurrentLearner, response: Response) -> dict[str, Any]:
    """Everything in the wallet (credentials with their keys, history), encrypted under the passphrase."""
    response.headers["Cache-Control"] = "no-store"
    return create_backup(session=session, learner=learner, passphrase=body.passphrase)


@router.post("/restore")
def restore(body: BackupRestore, session: SessionDep, learner: CurrentLearner) -> dict[str, int]:
    """Add a backup's contents to this wallet."""
    return restore_backup(session=session, learner=learner, backup=body.backup, passphrase=body.passphrase)
