"""Page plumbing the three services share: templates, Dutch/English, CSRF, cookies, flash messages, QR images.

A service's templates extend `base.html` and use the `ui` macros from `macros.html`; see
`servicekit.web.pages` for how a service sets it up, and `templates/README.md` for the macros.
"""

from servicekit.web.cookies import FlashMessage, PageCookies
from servicekit.web.csrf import CSRF_FIELD, CSRF_HEADER, CsrfRejected, create_csrf_token, verify_csrf_token
from servicekit.web.i18n import DEFAULT_LANGUAGE, LANGUAGES, Catalog, choose_language, message_ids_in_templates
from servicekit.web.pages import (
    CsrfProtected,
    PageError,
    Pages,
    PagesDep,
    get_pages,
    make_environment,
    page_link,
    require_csrf,
)
from servicekit.web.qr import qr_png_data_uri

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Catalog",
    "CsrfProtected",
    "CsrfRejected",
    "DEFAULT_LANGUAGE",
    "FlashMessage",
    "LANGUAGES",
    "PageCookies",
    "PageError",
    "Pages",
    "PagesDep",
    "choose_language",
    "create_csrf_token",
    "get_pages",
    "make_environment",
    "message_ids_in_templates",
    "page_link",
    "qr_png_data_uri",
    "require_csrf",
    "verify_csrf_token",
]
