"""Password logins slowed per account and per client address (`servicekit.throttle`, table `login_attempt`)."""

from __future__ import annotations

from sqlmodel import Session

from schemas.oauth2 import InvalidGrant
from servicekit.throttle import ACCOUNT, ADDRESS, LoginThrottle, login_attempt_table
from vc.keys import MasterKey
from wallet.accounts import LearnerContext, authenticate, load_service_secret
from wallet.models import WalletTable
from wallet.vault import IndexKey

__all__ = ["LOGIN_ATTEMPT", "throttled_authenticate"]

LOGIN_ATTEMPT = login_attempt_table(WalletTable.metadata)
_SECRET = "login-throttle"


def throttled_authenticate(*, session: Session, master_key: MasterKey, username_index: IndexKey, username: str,
                           password: str, address: str | None) -> LearnerContext:
    """`authenticate`, refused with `TooManyAttempts` (429) while the account or the address is blocked;
    a failure counts for both, a success clears the account's counter."""
    throttle = LoginThrottle(LOGIN_ATTEMPT, load_service_secret(session, master_key, _SECRET))
    account = throttle.key(ACCOUNT, username.casefold() if isinstance(username, str) else "")
    keys = [account, throttle.key(ADDRESS, address or "unknown")]
    throttle.check(session, keys)
    try:
        learner = authenticate(session=session, master_key=master_key, username_index=username_index,
                               username=username, password=password)
    except InvalidGrant:
        throttle.record_failure(session, keys)
        raise
    throttle.clear(session, account)
    return learner
