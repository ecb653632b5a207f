"""The service's master key: from settings, or generated into `var/` on first start."""

from __future__ import annotations

import logging
import os

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
        log.warning("no master key configured for %s: generated one in %s (set EDUWALLET_%s_MASTER_KEY in production)",
                    settings.service_name, path, settings.service_name.upper())
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(MasterKey.generate_text())
    return MasterKey.from_text(path.read_text())
