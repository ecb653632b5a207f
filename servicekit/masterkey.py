"""The service's master key: from settings, or generated into `var/` on first start."""

from __future__ import annotations

import logging
import os
import secrets

from servicekit.logging import configure_logging
from servicekit.settings import ServiceSettings
from vc.keys import MasterKey

__all__ = ["load_master_key"]

log = logging.getLogger(__name__)


def load_master_key(settings: ServiceSettings) -> MasterKey:
    if settings.master_key is not None:
        return MasterKey.from_text(settings.master_key.get_secret_value())
    path = settings.master_key_file
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        # This runs before `add_service_basics`: set up the JSON log lines now, so this one is JSON too.
        configure_logging(settings.service_name, level=os.environ.get("EDUWALLET_LOG_LEVEL", "INFO").upper())
        log.warning("no master key configured for %s: generated one in %s (set EDUWALLET_%s_MASTER_KEY in production)",
                    settings.service_name, path, settings.service_name.upper())
        # Write to a private temporary file, then link it into place: of several workers starting
        # at once exactly one key wins, and nobody reads a half-written file.
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(MasterKey.generate_text())
        try:
            os.link(temporary, path)
        except FileExistsError:
            pass
        finally:
            temporary.unlink()
    return MasterKey.from_text(path.read_text())
