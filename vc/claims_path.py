"""Claims path pointers (OpenID4VP 1.0 §7, OpenID4VCI 1.0 App. C) over JSON credentials.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html#name-claims-path-pointer

A path is a non-empty sequence of components: a string selects an object key, a
non-negative integer an array index, `None` (JSON `null`) every element of the selected
array(s). Processing (§7.1.1): a string applied to a non-object, or `null` / an index
applied to a non-array, aborts with an error; a missing key or index drops that element
from the selection; an empty final selection is an error. `select` raises `ClaimInvalid`
for both; `path_exists` answers False instead (for matching loops).

The shared helpers serve the SD-JWT holder and verifier and DCQL: `select_with_paths`
(and `try_select_with_paths`, None instead of an error) returns the concrete path (no `None`) of every selected value, `leaf_paths` lists the
concrete paths of all leaves, `covers` says whether a query path reaches a concrete path.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeAlias

from vc.errors import ClaimInvalid

__all__ = [
    "ClaimsPath",
    "ConcretePath",
    "check_path",
    "covers",
    "leaf_paths",
    "path_exists",
    "select",
    "select_with_paths",
    "try_select_with_paths",
]

ClaimsPath: TypeAlias = Sequence[str | int | None]
ConcretePath: TypeAlias = tuple[str | int, ...]


def check_path(path: ClaimsPath) -> None:
    """Raise `ClaimInvalid` unless `path` is a non-empty array of strings, non-negative ints and None."""
    if not isinstance(path, list | tuple) or not path:
        raise ClaimInvalid("a claims path is a non-empty array")
    for component in path:
        if component is None or isinstance(component, str):
            continue
        if isinstance(component, int) and not isinstance(component, bool) and component >= 0:
            continue
        raise ClaimInvalid(f"invalid claims path component {component!r}")


def _walk(document: Any, path: ClaimsPath) -> list[tuple[ConcretePath, Any]] | str:
    """§7.1.1 processing; the selected (concrete path, value) pairs, or the error text."""
    selection: list[tuple[ConcretePath, Any]] = [((), document)]
    for component in path:
        step: list[tuple[ConcretePath, Any]] = []
        if isinstance(component, str):
            for at, value in selection:
                if not isinstance(value, dict):
                    return f"{list(at) or 'the root'} is not an object"
                if component in value:
                    step.append(((*at, component), value[component]))
        elif component is None:
            for at, value in selection:
                if not isinstance(value, list):
                    return f"{list(at)} is not an array"
                step += [((*at, index), child) for index, child in enumerate(value)]
        else:
            for at, value in selection:
                if not isinstance(value, list):
                    return f"{list(at)} is not an array"
                if component < len(value):
                    step.append(((*at, component), value[component]))
        if not step:
            return "no claim is selected"
        selection = step
    return selection


def select_with_paths(document: Any, path: ClaimsPath) -> list[tuple[ConcretePath, Any]]:
    """The selected values of `document`, each with its concrete path (`None` resolved to indices).

    Raises `ClaimInvalid` when processing aborts or selects nothing.
    """
    check_path(path)
    result = _walk(document, path)
    if isinstance(result, str):
        raise ClaimInvalid(f"claims path {list(path)}: {result}")
    return result


def try_select_with_paths(document: Any, path: ClaimsPath) -> list[tuple[ConcretePath, Any]] | None:
    """Like `select_with_paths` for an already valid `path`, but None instead of an error (cheap in loops)."""
    result = _walk(document, path)
    return None if isinstance(result, str) else result


def select(document: Any, path: ClaimsPath) -> list[Any]:
    """The values `path` selects in `document` (§7.1.1); raises `ClaimInvalid` like `select_with_paths`."""
    return [value for _, value in select_with_paths(document, path)]


def path_exists(document: Any, path: ClaimsPath) -> bool:
    """True when processing `path` succeeds and selects at least one claim."""
    try:
        check_path(path)
    except ClaimInvalid:
        return False
    return not isinstance(_walk(document, path), str)


def leaf_paths(document: Any) -> list[ConcretePath]:
    """Concrete paths of every leaf (a scalar, or an empty object or array), depth first in document order."""
    leaves: list[ConcretePath] = []
    stack: list[tuple[ConcretePath, Any]] = [((), document)]
    while stack:
        at, value = stack.pop()
        if isinstance(value, dict) and value:
            stack.extend(((*at, key), child) for key, child in reversed(value.items()))
        elif isinstance(value, list) and value:
            stack.extend(((*at, index), child) for index, child in reversed(list(enumerate(value))))
        elif at:
            leaves.append(at)
    return leaves


def covers(path: ClaimsPath, concrete: Sequence[str | int]) -> bool:
    """True when `concrete` is a claim `path` selects or lies inside one (`None` matches any index)."""
    if len(concrete) < len(path):
        return False
    for component, actual in zip(path, concrete, strict=False):
        if component is None:
            if not isinstance(actual, int) or isinstance(actual, bool):
                return False
        elif component != actual or type(component) is not type(actual):
            return False
    return True
