"""Password logins slowed per account and per client address (`servicekit.throttle`, table `login_attempt`)."""

from __future__ import annotations

from sqlmodel import Session

from servicekit.throttle import ACCOUNT, ADDRESS, LoginThrottle, login_attempt_table, login_policies
from vc.keys import MasterKey
from wallet.accounts import LearnerContext, authenticate, load_service_secret
from wallet.models import WalletTable
from wallet.settings import WalletSettings
from wallet.vault import IndexKey

__all__ = ["LOGIN_ATTEMPT", "throttled_authenticate"]

LOGIN_ATTEMPT = login_attempt_table(WalletTable.metadata)
_SECRET = "login-throttle"


def throttled_authenticate(*, session: Session, master_key: MasterKey, username_index: IndexKey, username: str,
                           password: str, address: str | None, settings: WalletSettings) -> LearnerContext:
    """`authenticate`, refused with `TooManyAttempts` (429) while the account or the address is blocked.

    The attempt counts for both before the password is checked, so parallel guesses cannot outrun the
    counter; a right password clears the account's counter and gives the address its slot back.
    """
    throttle = LoginThrottle(LOGIN_ATTEMPT, load_service_secret(session, master_key, _SECRET),
                             login_policies(settings.login_throttle_base_delay_seconds))
    account = throttle.key(ACCOUNT, username.casefold() if isinstance(username, str) else "")
    slots = throttle.admit(session, [account, throttle.key(ADDRESS, address or "unknown")])
    # A wrong password (`InvalidGrant`) leaves the slots taken: that is the failure counted.
    learner = authenticate(session=session, master_key=master_key, username_index=username_index,
                           username=username, password=password)
    throttle.succeeded(session, slots)
    return learner
