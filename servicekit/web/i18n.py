"""Dutch and English pages: message catalogs keyed by message id, and choosing the reader's language.

A catalog is a folder with one flat JSON object per language (`en.json`, `nl.json`):
`{"message.id": "Text with {placeholders}"}`. The shared catalog in `servicekit/web/messages`
is loaded first and a service's own catalog is laid over it, so a service can override a shared
text (for example `service.name`). Templates call `t("message.id", name=value)`.

The language comes from the `lang` cookie (set by the switch link), else the browser's
`Accept-Language` (RFC 9110 section 12.5.4, with q-values), else English.
"""

from __future__ import annotations

import json
import logging
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "LANG_COOKIE", "Catalog", "choose_language", "message_ids_in_templates"]

log = logging.getLogger(__name__)

#: The languages every page speaks, each named in its own language (for the switch).
LANGUAGES: dict[str, str] = {"en": "English", "nl": "Nederlands"}
DEFAULT_LANGUAGE = "en"
LANG_COOKIE = "lang"
SHARED_MESSAGES = Path(__file__).parent / "messages"

_LANGUAGE_RANGE = re.compile(r"^\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([01](?:\.\d{0,3})?))?\s*$")
_USED_ID = re.compile(r"""\bt\(\s*["']([A-Za-z0-9_.\-]+)["']\s*[,)]""")


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if we speak it, else the best `Accept-Language` match, else English."""
    if cookie in LANGUAGES:
        return cookie
    best, best_q = DEFAULT_LANGUAGE, 0.0
    for position, item in enumerate((accept_language or "")[:500].split(",")[:20]):
        match = _LANGUAGE_RANGE.match(item)
        if not match:
            continue
        primary = match.group(1).split("-")[0].lower()
        q = float(match.group(2)) if match.group(2) else 1.0
        # Earlier ranges win ties, so a tiny position penalty keeps the browser's order.
        score = q - position * 1e-6
        if primary in LANGUAGES and q > 0 and score > best_q:
            best, best_q = primary, score
    return best


@dataclass(frozen=True)
class Catalog:
    """Messages per language, the shared ones overlaid with a service's own."""

    messages: Mapping[str, Mapping[str, str]]

    @classmethod
    def load(cls, *folders: Path | None) -> Catalog:
        """The shared catalog, then each folder in turn (later folders override earlier ones)."""
        merged: dict[str, dict[str, str]] = {language: {} for language in LANGUAGES}
        for folder in (SHARED_MESSAGES, *folders):
            if folder is None:
                continue
            for language in LANGUAGES:
                path = folder / f"{language}.json"
                if path.exists():
                    data = json.loads(path.read_text(encoding="utf-8"))
                    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
                        raise TypeError(f"{path}: a catalog is one JSON object of message id -> text")
                    merged[language].update(data)
        return cls(merged)

    def translate(self, language: str, message_id: str, /, **params: object) -> str:
        """The text of `message_id` in `language` (falling back to English, then to the id itself)."""
        text = self.messages.get(language, {}).get(message_id)
        if text is None:
            text = self.messages[DEFAULT_LANGUAGE].get(message_id)
            if text is None:
                log.warning("no message %r in any language", message_id)
                return message_id
        if not params:
            return text
        try:
            return text.format_map(params)
        except (KeyError, IndexError, ValueError):
            log.warning("message %r does not fit the parameters %s", message_id, sorted(params))
            return text

    def problems(self, used_ids: Iterable[str] = ()) -> list[str]:
        """What a test should refuse: ids missing in a language, placeholders that differ, ids used but not defined."""
        found: list[str] = []
        all_ids = set().union(*(set(m) for m in self.messages.values()))
        for message_id in sorted(all_ids | set(used_ids)):
            texts = {language: self.messages[language].get(message_id) for language in LANGUAGES}
            missing = sorted(language for language, text in texts.items() if text is None)
            if missing:
                found.append(f"{message_id}: missing in {', '.join(missing)}")
                continue
            fields = {language: _placeholders(text or "") for language, text in texts.items()}
            if len(set(map(frozenset, fields.values()))) > 1:
                found.append(f"{message_id}: placeholders differ between languages: {fields}")
        return found


def message_ids_in_templates(folder: Path) -> set[str]:
    """Every literal `t("id")` in the templates under `folder`, for `Catalog.problems`."""
    ids: set[str] = set()
    for path in folder.rglob("*.html"):
        ids.update(_USED_ID.findall(path.read_text(encoding="utf-8")))
    return ids


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}
