"""Staff page logins slowed per client address (`servicekit.throttle`, table `login_attempt`).

The staff log-in takes only an API token (a random 256-bit secret, no account name), so the
failures are counted per address: guessing tokens from one address is slowed down exponentially.
"""

from __future__ import annotations

from sqlmodel import Session

from issuer.models import IssuerTable
from issuer.pages.sessions import load_issuer_secret
from issuer.settings import IssuerSettings
from servicekit.throttle import ADDRESS, LoginThrottle, login_attempt_table, login_policies
from vc.keys import MasterKey

__all__ = ["LOGIN_ATTEMPT", "login_throttle"]

LOGIN_ATTEMPT = login_attempt_table(IssuerTable.metadata)
_SECRET = "login-throttle"


def login_throttle(session: Session, master_key: MasterKey, address: str | None,
                   settings: IssuerSettings) -> tuple[LoginThrottle, list[str]]:
    """The throttle and the keys one staff log-in from `address` counts against."""
    throttle = LoginThrottle(LOGIN_ATTEMPT, load_issuer_secret(session, master_key, _SECRET),
                             login_policies(settings.login_throttle_base_delay_seconds))
    return throttle, [throttle.key(ADDRESS, address or "unknown")]
