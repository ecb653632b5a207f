"""Open Badges 3.0 credentials checked against their JSON Schemas (Draft 2019-09).

OB 3.0 §"JSON Schema" (https://www.imsglobal.org/spec/ob/v3p0/#json-schema): an
`OpenBadgeCredential` is valid when it validates against
`ob_v3p0_achievementcredential_schema.json` (packaged in `schemas/json/`), with
format checks on. Each `credentialSchema` entry of type `1EdTechJsonSchemaValidator2019`
names one more schema the credential must satisfy; SURF's educredentials profiles
(microcredential, microcredential_ects, ...) are such schemas. They are published
under raw.githubusercontent.com URLs; `CredentialSchemas.from_directory` maps those
URLs to local files (a `referencing` registry), so validation never goes online.

Validators are built once and reused: validation is on the issue and verify path. An issuer
signing many credentials that differ only in a few values (ids, dates, the holder, salts, status
entries) uses a `SharedContentValidator`: each credential is still checked against the whole
schema, but what it shares with an earlier valid credential is not checked again.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft201909Validator, FormatChecker, SchemaError, ValidationError
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT201909

from vc.errors import SchemaInvalid

__all__ = [
    "EDUCREDENTIALS_SCHEMAS_URL",
    "JSON_SCHEMA_VALIDATOR_2019",
    "OB3_SCHEMA_URL",
    "CredentialSchemas",
    "SharedContentValidator",
    "open_badge_credential_errors",
    "validate_open_badge_credential",
]

#: Where 1EdTech publishes the OB 3.0 AchievementCredential schema (the `credentialSchema.id` issuers use).
OB3_SCHEMA_URL = "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json"
#: The `credentialSchema.type` for 1EdTech JSON Schema validation.
JSON_SCHEMA_VALIDATOR_2019 = "1EdTechJsonSchemaValidator2019"
#: Where SURF publishes its educredentials profile schemas; a file `<name>.json` there maps to `<dir>/<name>.json`.
EDUCREDENTIALS_SCHEMAS_URL = "https://raw.githubusercontent.com/educredentials/obv3-examples/refs/heads/main/schemas/"

_SCHEMA_FILE = "ob_v3p0_achievementcredential_schema.json"
#: How many errors a `SchemaInvalid` message lists.
MAX_REPORTED_ERRORS = 5
_MAX_MESSAGE = 200

# RFC 3339 §5.6 date-time (JSON Schema "date-time"); jsonschema only checks it when an
# optional package is installed, so the check is ours and always on.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII)

_FORMAT_CHECKER = FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _DATE_TIME.fullmatch(value):
        return False
    text = value.upper().replace("T", " ", 1)
    leap = text[17:19] == "60"  # a leap second is valid RFC 3339; datetime cannot hold it
    try:
        datetime.fromisoformat(text[:17] + "59" + text[19:] if leap else text)
    except ValueError:
        return False
    return True


def _is_date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


_FORMAT_CHECKER.checks("date-time")(_is_date_time)
_FORMAT_CHECKER.checks("date")(_is_date)


def _packaged_schema() -> dict[str, Any]:
    text = resources.files("schemas").joinpath("json", _SCHEMA_FILE).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _describe(error: ValidationError) -> str:
    """`path: message`, with a large instance shown as "object"/"array" and, for oneOf/anyOf, the likeliest cause."""
    message = error.message
    if isinstance(error.instance, dict | list) and message.startswith(shown := repr(error.instance)):
        message = ("object" if isinstance(error.instance, dict) else "array") + message[len(shown):]
    if error.validator == "contains" and isinstance(error.validator_value, dict) and "enum" in error.validator_value:
        message = f"must contain one of {error.validator_value['enum']}"
    if error.validator in ("oneOf", "anyOf") and error.context:
        message += f" ({_describe(best_match(error.context))})"
    if len(message) > _MAX_MESSAGE:
        message = message[:_MAX_MESSAGE] + "..."
    return f"{error.json_path}: {message}"


def _errors(validator: Draft201909Validator, instance: Any) -> list[str]:
    errors = sorted(validator.iter_errors(instance), key=lambda e: (list(map(str, e.absolute_path)), e.message))
    return [_describe(e) for e in errors]


def _raise_if(errors: list[str], what: str) -> None:
    if errors:
        shown = "; ".join(errors[:MAX_REPORTED_ERRORS])
        more = f" (and {len(errors) - MAX_REPORTED_ERRORS} more)" if len(errors) > MAX_REPORTED_ERRORS else ""
        raise SchemaInvalid(f"{what} is not valid: {shown}{more}")


@cache
def _ob3_validator() -> Draft201909Validator:
    schema = _packaged_schema()
    Draft201909Validator.check_schema(schema)
    return Draft201909Validator(schema, format_checker=_FORMAT_CHECKER)


def open_badge_credential_errors(credential: Any) -> list[str]:
    """Every way `credential` fails the OB 3.0 AchievementCredential schema, as `path: message` lines."""
    return _errors(_ob3_validator(), credential)


def validate_open_badge_credential(credential: Any) -> None:
    """Raise `SchemaInvalid` (naming the first few failures) unless `credential` passes the OB 3.0 schema."""
    _raise_if(open_badge_credential_errors(credential), "OpenBadgeCredential")


#: Keywords that, on the way from the root to a varying value, look only at member names, counts and
#: each member by itself (annotations aside): with only these, a document is valid when its shared
#: content passed in an earlier valid document and each varying value passes its own subschema.
_DECOMPOSABLE = frozenset({"type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
                           "minProperties", "maxProperties", "$ref", "title", "description", "$comment",
                           "$schema", "$defs", "default", "examples"})
#: A path step matching every item of an array.
EVERY_ITEM = "*"


def _pointer(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#/"):
        raise SchemaInvalid(f"only local $refs can lie on the path to a varying value, not {ref}")
    node: Any = root
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


class SharedContentValidator:
    """Validate many documents against one schema, checking again only the values that vary.

    `varying` names the paths of the values that differ between documents of one shape (`"*"`
    for every array item), e.g. `("credentialSubject", "identifier", "*", "salt")`. The first
    document of a shape is validated in full; its *shape* is the document with those values
    blanked (names, counts and every other value kept), remembered by a digest. A later document of
    a remembered shape is valid exactly when each of its varying values passes its own subschema,
    because every schema on the way to a varying value is refused at construction unless it uses
    only `_DECOMPOSABLE` keywords. Failures are reported by a full validation, never from the cache.
    """

    def __init__(self, validator: Draft201909Validator, varying: Iterable[Sequence[str]], *,
                 cache_size: int = 1024) -> None:
        self._validator = validator
        self._paths = [tuple(path) for path in varying]
        self._leaves = [(path, [validator.evolve(schema=leaf) for leaf in self._subschemas(path)])
                        for path in self._paths]
        self._shapes: OrderedDict[bytes, None] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _applicable(self, schema: Any) -> list[Mapping[str, Any]]:
        """`schema` and what its `$ref`s add, each of which an ancestor's value must satisfy."""
        found, todo = [], [schema]
        while todo:
            current = todo.pop()
            if isinstance(current, bool):
                continue  # true: no constraint; false: no document is valid, so none gets cached
            other = set(current) - _DECOMPOSABLE - ({"$id"} if current is self._validator.schema else set())
            if other or not isinstance(current.get("items", {}), dict | bool):
                raise SchemaInvalid(f"a varying value lies under {sorted(other) or ['items array']}")
            if "$ref" in current:
                todo.append(_pointer(self._validator.schema, current["$ref"]))
            found.append(current)
        return found

    def _subschemas(self, path: tuple[str, ...]) -> list[Any]:
        """The schemas a value at `path` must satisfy, after checking every ancestor decomposes."""
        schemas: list[Any] = [self._validator.schema]
        for step in path:
            children: list[Any] = []
            for schema in self._applicable_all(schemas):
                if step == EVERY_ITEM:
                    children += [schema["items"]] if "items" in schema else []
                elif step in schema.get("properties", {}):
                    children.append(schema["properties"][step])
                elif "additionalProperties" in schema:
                    children.append(schema["additionalProperties"])
            schemas = children
        return schemas

    def _applicable_all(self, schemas: list[Any]) -> list[Mapping[str, Any]]:
        return [found for schema in schemas for found in self._applicable(schema)]

    def _shape(self, document: Any) -> bytes | None:
        def blank(node: Any, path: tuple[str, ...]) -> Any:
            if not path:
                return None
            step, rest = path[0], path[1:]
            if step == EVERY_ITEM:
                return [blank(item, rest) for item in node] if isinstance(node, list) else node
            if isinstance(node, dict) and step in node:
                return {**node, step: blank(node[step], rest)}
            return node

        for path in self._paths:
            document = blank(document, path)
        try:
            text = json.dumps(document, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError):
            return None
        return hashlib.sha256(text.encode("utf-8")).digest()

    def _varying_values_pass(self, document: Any) -> bool:
        def values(node: Any, path: tuple[str, ...]) -> Iterable[Any]:
            if not path:
                yield node
            elif path[0] == EVERY_ITEM:
                for item in node if isinstance(node, list) else ():
                    yield from values(item, path[1:])
            elif isinstance(node, dict) and path[0] in node:
                yield from values(node[path[0]], path[1:])

        return all(leaf.is_valid(value) for path, leaves in self._leaves for value in values(document, path)
                   for leaf in leaves)

    def errors(self, document: Any) -> list[str]:
        """Every way `document` fails the schema (`[]` when it passes), as `path: message` lines."""
        shape = self._shape(document)
        with self._lock:
            known = shape is not None and shape in self._shapes
            if known:
                self._shapes.move_to_end(shape)  # type: ignore[arg-type]
        if known and self._varying_values_pass(document):
            return []
        errors = _errors(self._validator, document)
        if not errors and shape is not None:
            with self._lock:
                self._shapes[shape] = None
                while len(self._shapes) > self._cache_size:
                    self._shapes.popitem(last=False)
        return errors

    def validate(self, document: Any, what: str = "OpenBadgeCredential") -> None:
        """Raise `SchemaInvalid` (naming the first few failures) unless `document` passes the schema."""
        _raise_if(self.errors(document), what)

    @classmethod
    def for_open_badge_credentials(cls, varying: Iterable[Sequence[str]], *,
                                   cache_size: int = 1024) -> SharedContentValidator:
        """A `SharedContentValidator` of the OB 3.0 AchievementCredential schema."""
        return cls(_ob3_validator(), varying, cache_size=cache_size)


class CredentialSchemas:
    """JSON Schemas by the URL a credential names in `credentialSchema`, all held locally.

    Always holds the packaged OB 3.0 schema (under `OB3_SCHEMA_URL` and its `$id`);
    `from_directory` adds a folder of profile schemas. A `$ref` between them resolves
    through the same registry, never over the network.
    """

    def __init__(self, schemas: Mapping[str, Mapping[str, Any]]) -> None:
        ob3 = _packaged_schema()
        entries: dict[str, Mapping[str, Any]] = {OB3_SCHEMA_URL: ob3, ob3["$id"]: ob3, **schemas}
        for url, schema in entries.items():
            if not isinstance(schema, Mapping):
                raise SchemaInvalid(f"the schema for {url} is not a JSON object")
            try:
                Draft201909Validator.check_schema(schema)
            except SchemaError as exc:
                raise SchemaInvalid(f"the schema for {url} is not a valid JSON Schema: {exc}") from exc
        self._schemas = entries
        self._registry: Registry[Any] = Registry().with_resources(
            (url, Resource.from_contents(dict(schema), default_specification=DRAFT201909))
            for url, schema in entries.items()
        )
        self._validators: dict[str, Draft201909Validator] = {}

    @classmethod
    def from_directory(cls, directory: Path | str, base_url: str = EDUCREDENTIALS_SCHEMAS_URL) -> CredentialSchemas:
        """Every `*.json` in `directory`, published as `base_url + file name` (educredentials by default)."""
        folder = Path(directory)
        if not folder.is_dir():
            raise SchemaInvalid(f"no schema directory at {folder}")
        schemas: dict[str, Any] = {}
        for path in sorted(folder.glob("*.json")):
            try:
                schemas[base_url + path.name] = json.loads(path.read_text(encoding="utf-8"))
            except ValueError as exc:
                raise SchemaInvalid(f"{path.name} is not JSON") from exc
        return cls(schemas)

    def __contains__(self, url: object) -> bool:
        return url in self._schemas

    def _validator(self, url: str) -> Draft201909Validator:
        validator = self._validators.get(url)
        if validator is None:
            if url not in self._schemas:
                raise SchemaInvalid(f"unknown credential schema {url}")
            validator = Draft201909Validator(
                dict(self._schemas[url]), registry=self._registry, format_checker=_FORMAT_CHECKER
            )
            self._validators[url] = validator
        return validator

    def errors(self, credential: Any, url: str) -> list[str]:
        """The failures of `credential` against the schema published at `url`."""
        return _errors(self._validator(url), credential)

    def validate(self, credential: Any, urls: str | Iterable[str]) -> None:
        """Raise `SchemaInvalid` unless `credential` passes every schema named (by URL)."""
        for url in [urls] if isinstance(urls, str) else urls:
            _raise_if(self.errors(credential, url), f"credential (schema {url})")

    def validate_credential_schemas(self, credential: Mapping[str, Any], *, allow_unknown: bool = False) -> list[str]:
        """Validate against each `credentialSchema` entry of type `1EdTechJsonSchemaValidator2019`.

        Returns the URLs checked. A schema not held here is an error unless `allow_unknown`
        (it is then skipped: this class never fetches).
        """
        entries = credential.get("credentialSchema", [])
        if isinstance(entries, Mapping):
            entries = [entries]
        if not isinstance(entries, list):
            raise SchemaInvalid("credentialSchema must be an object or a list")
        checked: list[str] = []
        for entry in entries:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
                raise SchemaInvalid("each credentialSchema needs an id")
            if entry.get("type") != JSON_SCHEMA_VALIDATOR_2019:
                continue
            url = entry["id"]
            if url not in self._schemas and allow_unknown:
                continue
            self.validate(credential, url)
            checked.append(url)
        return checked
