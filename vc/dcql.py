"""DCQL evaluation (OpenID4VP 1.0 §6.4): which credentials answer a query, and does a VP Token answer it.

https://openid.net/specs/openid-4-verifiable-presentations-1_0.html#name-selecting-claims-and-creden

Callers describe credentials neutrally as `Candidate`s (format, type, the claims document,
holder binding), so this module knows no credential format internals:

- Wallet: `match_credentials(query, candidates)` gives, per Credential Query, the matching
  candidates with the concrete claim paths to disclose (first satisfiable `claim_sets`
  option, `values` honoured), then applies `credential_sets` to say whether the query can be
  answered and which Credential Query ids to answer.
- Verifier: `check_presentations(query, presented)` re-checks what was actually presented
  (Wallet matching is best effort: "Security Checks on the Returned Credentials and
  Presentations", Security Considerations) and names what is missing.

W3C `type_values` hold fully expanded type IRIs (App. B.1.1); without a JSON-LD processor the
terms of the contexts we use are expanded from a static map (`W3C_TYPE_IRIS`, from the VCDM 2.0
and OB 3.0.3 contexts) and unmapped terms stay as they are, so a query may name either form.
`trusted_authorities` is a privacy hint and is not evaluated here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from schemas.dcql import ClaimsQuery, CredentialQuery, DcqlQuery
from schemas.oid4vci import FORMAT_DC_SD_JWT, FORMAT_MSO_MDOC, FORMATS_W3C
from vc.claims_path import ConcretePath, try_select_with_paths

__all__ = [
    "OB_VOCAB",
    "VC_VOCAB",
    "W3C_TYPE_IRIS",
    "Candidate",
    "CredentialMatch",
    "CredentialSetMatch",
    "DcqlCheck",
    "DcqlMatch",
    "check_presentations",
    "match_credentials",
]

VC_VOCAB = "https://www.w3.org/2018/credentials#"
OB_VOCAB = "https://purl.imsglobal.org/spec/vc/ob/vocab.html#"
#: Credential type terms -> IRIs, as the VCDM (`credentials/v2`, `2018/credentials/v1`) and
#: OB 3.0.3 contexts define them (OB: `AchievementCredential` is an alias of `OpenBadgeCredential`).
W3C_TYPE_IRIS: Mapping[str, str] = {
    "VerifiableCredential": VC_VOCAB + "VerifiableCredential",
    "VerifiablePresentation": VC_VOCAB + "VerifiablePresentation",
    "OpenBadgeCredential": OB_VOCAB + "OpenBadgeCredential",
    "AchievementCredential": OB_VOCAB + "OpenBadgeCredential",
    "EndorsementCredential": OB_VOCAB + "EndorsementCredential",
}
_ABSENT = object()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A credential as DCQL sees it; also describes one presented credential on the verifier side.

    `claims` is the JSON claims document (a dict) the paths apply to: for an SD-JWT VC every claim the
    holder could disclose (verifier: what was disclosed); for W3C formats the credential object
    (not the presentation); for mdoc `{namespace: {element: value}}`. `holder_binding` is
    "can prove possession" for a wallet and "a valid binding proof was verified" for a verifier.
    """

    id: str
    format: str
    claims: dict[str, Any]
    vct: str | None = None
    #: SD-JWT VC: other types this credential may be presented as (`aka_vcts`, types it extends).
    aka_vcts: tuple[str, ...] = ()
    #: W3C: the credential's `type` array, terms or IRIs.
    type: tuple[str, ...] = ()
    doctype: str | None = None
    holder_binding: bool = True


@dataclass(frozen=True, slots=True)
class CredentialMatch:
    """A candidate answering a Credential Query; `disclose` are the concrete claim paths selected
    (empty when the query has no `claims`), `claim_set` the chosen `claim_sets` option."""

    candidate: Candidate
    disclose: tuple[ConcretePath, ...]
    claim_set: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class CredentialSetMatch:
    """One Credential Set Query: its options that can be satisfied, and the one chosen (the first)."""

    required: bool
    satisfiable_options: tuple[tuple[str, ...], ...]

    @property
    def chosen(self) -> tuple[str, ...] | None:
        return self.satisfiable_options[0] if self.satisfiable_options else None


@dataclass(frozen=True, slots=True)
class DcqlMatch:
    """Wallet-side result: `satisfied` means a response can be sent; `selection` lists the
    Credential Query ids to answer (query order); `presentations` is the default choice per
    selected id (the first match, or all when `multiple`); `missing` names unmet requirements."""

    satisfied: bool
    matches: dict[str, list[CredentialMatch]]
    selection: tuple[str, ...]
    presentations: dict[str, list[CredentialMatch]] = field(default_factory=dict)
    credential_sets: tuple[CredentialSetMatch, ...] = ()
    missing: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DcqlCheck:
    """Verifier-side result: the presentations accepted per Credential Query id and every problem found.

    `verdicts` has, for every presented Credential Query id, one entry per presentation in the
    order given: None when it was accepted, else why not (so a caller can report per credential).
    """

    satisfied: bool
    accepted: dict[str, list[Candidate]] = field(default_factory=dict)
    problems: tuple[str, ...] = ()
    verdicts: dict[str, tuple[str | None, ...]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Claim:
    id: str | None
    path: tuple[Any, ...]
    values: tuple[Any, ...] | None
    #: The leading object keys of `path`, followed cheaply before the general walk.
    head: tuple[str, ...]

    @classmethod
    def compile(cls, claim: ClaimsQuery) -> _Claim:
        path = tuple(claim.path)
        count = 0
        while count < len(path) and isinstance(path[count], str):
            count += 1
        return cls(claim.id, path, tuple(claim.values) if claim.values else None, path[:count])


class _Plan:
    """A Credential Query compiled once for evaluation over many candidates."""

    def __init__(self, query: CredentialQuery, type_iris: Mapping[str, str]) -> None:
        self.query = query
        self.type_iris = type_iris
        self.claims = [_Claim.compile(c) for c in query.claims or ()]
        self.heads = [claim.head for claim in self.claims]
        index = {claim.id: i for i, claim in enumerate(self.claims)}
        self.claim_sets = [(tuple(option), [index[i] for i in option]) for option in query.claim_sets or ()]
        #: Plain key paths without `values` or `claim_sets`: every candidate discloses the same paths.
        self.key_paths: tuple[ConcretePath, ...] | None = None
        if not self.claim_sets and all(c.head == c.path and c.values is None for c in self.claims):
            self.key_paths = tuple(c.path for c in self.claims)
        meta = query.meta
        self.vcts = frozenset(meta.vct_values or ())
        self.type_alternatives = [frozenset(type_iris.get(t, t) for t in alt) for alt in meta.type_values or ()]

    def type_matches(self, types: tuple[str, ...]) -> bool:
        """W3C: one `type_values` alternative is contained in the expanded `type` array."""
        expanded = {self.type_iris.get(t, t) for t in types}
        return any(alt <= expanded for alt in self.type_alternatives)

    def type_problem(self, candidate: Candidate) -> str | None:
        fmt = self.query.format
        if candidate.format != fmt:
            return f"format {candidate.format} is not {fmt}"
        if fmt == FORMAT_DC_SD_JWT:
            if candidate.vct not in self.vcts and not self.vcts.intersection(candidate.aka_vcts):
                return f"vct {candidate.vct} is not one of the requested vct_values"
        elif fmt in FORMATS_W3C:
            if not self.type_matches(candidate.type):
                return f"type {list(candidate.type)} matches none of the requested type_values"
        elif fmt == FORMAT_MSO_MDOC and candidate.doctype != self.query.meta.doctype_value:
            return f"doctype {candidate.doctype} is not {self.query.meta.doctype_value}"
        if self.query.require_cryptographic_holder_binding and not candidate.holder_binding:
            return "cryptographic holder binding is required"
        return None

    def claim_paths(self, document: Any, number: int) -> tuple[ConcretePath, ...] | None:
        """The concrete paths answering Claims Query `number`, or None (absent, or no value matches)."""
        claim, head = self.claims[number], self.heads[number]
        value = _get(document, head)
        if value is _ABSENT:
            return None
        if len(head) == len(claim.path):
            return (claim.path,) if claim.values is None or _value_matches(value, claim.values) else None
        selected = try_select_with_paths(value, claim.path[len(head) :])
        if selected is None:
            return None
        return (
            tuple((*head, *at) for at, found in selected if claim.values is None or _value_matches(found, claim.values))
            or None
        )

    def select_claims(self, document: Any) -> tuple[tuple[ConcretePath, ...], tuple[str, ...] | None] | str:
        """§6.4.1: the claims to disclose (and the claim set used), or why none can be."""
        if self.key_paths is not None:
            for path in self.key_paths:
                if _get(document, path) is _ABSENT:
                    return f"claim {list(path)} is missing"
            return self.key_paths, None
        if not self.claim_sets:
            disclose: list[ConcretePath] = []
            for number, claim in enumerate(self.claims):
                paths = self.claim_paths(document, number)
                if paths is None:
                    return f"claim {list(claim.path)} is missing or has another value"
                disclose.extend(paths)
            return tuple(disclose), None
        found: dict[int, tuple[ConcretePath, ...] | None] = {}
        for option, indexes in self.claim_sets:
            for i in indexes:
                if i not in found:
                    found[i] = self.claim_paths(document, i)
            if all(found[i] is not None for i in indexes):
                return tuple(p for i in indexes for p in found[i] or ()), option
        return "no option of claim_sets can be satisfied"


class _Index:
    """The wallet's candidates grouped by format and type, so a Credential Query only visits its own."""

    def __init__(self, candidates: Iterable[Candidate]) -> None:
        self.groups: dict[tuple[str, Any], list[tuple[int, Candidate]]] = {}
        for position, candidate in enumerate(candidates):
            fmt = candidate.format
            if fmt == FORMAT_DC_SD_JWT:
                keys: Iterable[Any] = dict.fromkeys((candidate.vct, *candidate.aka_vcts))
            elif fmt in FORMATS_W3C:
                keys = (candidate.type,)
            elif fmt == FORMAT_MSO_MDOC:
                keys = (candidate.doctype,)
            else:
                keys = (None,)
            for key in keys:
                self.groups.setdefault((fmt, key), []).append((position, candidate))

    def pool(self, plan: _Plan) -> list[Candidate]:
        """Candidates of the query's format and type, in the order they were given."""
        fmt = plan.query.format
        if fmt == FORMAT_DC_SD_JWT:
            lists = [self.groups.get((fmt, vct), []) for vct in plan.vcts]
        elif fmt in FORMATS_W3C:
            lists = [group for (f, types), group in self.groups.items() if f == fmt and plan.type_matches(types)]
        elif fmt == FORMAT_MSO_MDOC:
            lists = [self.groups.get((fmt, plan.query.meta.doctype_value), [])]
        else:
            lists = [self.groups.get((fmt, None), [])]
        lists = [group for group in lists if group]
        if len(lists) == 1:
            return [candidate for _, candidate in lists[0]]
        merged = {position: candidate for group in lists for position, candidate in group}
        return [merged[position] for position in sorted(merged)]


def _get(document: Any, path: tuple[Any, ...]) -> Any:
    """Follow a path of object keys; `_ABSENT` when a key is missing or a step is not an object."""
    for key in path:
        if not isinstance(document, dict):
            return _ABSENT
        document = document.get(key, _ABSENT)
        if document is _ABSENT:
            break
    return document


def _value_matches(value: Any, values: tuple[Any, ...]) -> bool:
    """§6.3 `values`: the claim's type and value both match one element exactly (so 1 is not True)."""
    return any(type(value) is type(expected) and value == expected for expected in values)


def _sets_outcome(
    query: DcqlQuery, answered: set[str]
) -> tuple[bool, tuple[str, ...], tuple[CredentialSetMatch, ...], list[str]]:
    """§6.4.2: without `credential_sets` every Credential Query is required; otherwise every
    required set needs one option whose ids are all answered, optional sets are taken when possible."""
    order = [q.id for q in query.credentials]
    if query.credential_sets is None:
        missing = [f"credential query {qid} has no matching credential" for qid in order if qid not in answered]
        return not missing, tuple(order) if not missing else (), (), missing
    sets: list[CredentialSetMatch] = []
    missing = []
    chosen: set[str] = set()
    for number, credential_set in enumerate(query.credential_sets):
        options = tuple(tuple(o) for o in credential_set.options if set(o) <= answered)
        sets.append(CredentialSetMatch(required=credential_set.required, satisfiable_options=options))
        if options:
            chosen.update(options[0])
        elif credential_set.required:
            missing.append(
                f"credential set {number}: none of the options {[list(o) for o in credential_set.options]} can be answered"
            )
    selection = tuple(qid for qid in order if qid in chosen) if not missing else ()
    return not missing, selection, tuple(sets), missing


def match_credentials(
    query: DcqlQuery, candidates: Iterable[Candidate], *, type_iris: Mapping[str, str] = W3C_TYPE_IRIS
) -> DcqlMatch:
    """Evaluate `query` over the wallet's credentials (§6.4).

    Candidates are grouped by format and type once; each Credential Query then only visits
    its own group and walks claims only there, so large wallets stay cheap.
    """
    index = _Index(candidates)
    matches: dict[str, list[CredentialMatch]] = {}
    for credential_query in query.credentials:
        plan = _Plan(credential_query, type_iris)
        binding = credential_query.require_cryptographic_holder_binding
        found: list[CredentialMatch] = []
        for candidate in index.pool(plan):
            if binding and not candidate.holder_binding:
                continue
            selected = plan.select_claims(candidate.claims)
            if not isinstance(selected, str):
                found.append(CredentialMatch(candidate, *selected))
        matches[credential_query.id] = found
    satisfied, selection, sets, missing = _sets_outcome(query, {qid for qid, found in matches.items() if found})
    multiple = {q.id: q.multiple for q in query.credentials}
    presentations = {qid: matches[qid] if multiple[qid] else matches[qid][:1] for qid in selection}
    return DcqlMatch(satisfied, matches, selection, presentations, sets, tuple(missing))


def _token_refusal(qid: str, credential_query: CredentialQuery | None, count: int) -> str | None:
    """§8.1: the VP Token names only requested Credential Queries, each with one presentation unless `multiple`."""
    if credential_query is None:
        return f"vp_token has {qid}, which is not a credential query id"
    if count == 0 or (count > 1 and not credential_query.multiple):
        expected = "one or more presentations" if credential_query.multiple else "one presentation"
        return f"{qid}: expected {expected}, got {count}"
    return None


def check_presentations(
    query: DcqlQuery,
    presented: Mapping[str, Sequence[Candidate]],
    *,
    type_iris: Mapping[str, str] = W3C_TYPE_IRIS,
) -> DcqlCheck:
    """Re-check a VP Token against `query` (§8.6): `presented` maps Credential Query ids to the
    verified presentations, each described by its disclosed claims.

    A presentation that does not meet its Credential Query is discarded (named in `problems`
    and in its `verdicts` entry); an unknown id, or several presentations where `multiple` is
    false, fails the whole response; then the accepted ones must satisfy `credential_sets`.
    """
    problems: list[str] = []
    token_ok = True
    accepted: dict[str, list[Candidate]] = {}
    verdicts: dict[str, tuple[str | None, ...]] = {}
    queries = {q.id: q for q in query.credentials}
    for qid, presentations in presented.items():
        refusal = _token_refusal(qid, queries.get(qid), len(presentations))
        if refusal is not None:
            problems.append(refusal)
            verdicts[qid] = (refusal,) * len(presentations)
            token_ok = False
            continue
        plan = _Plan(queries[qid], type_iris)
        found: list[str | None] = []
        for number, presentation in enumerate(presentations):
            problem = plan.type_problem(presentation)
            if problem is None:
                selected = plan.select_claims(presentation.claims)
                problem = selected if isinstance(selected, str) else None
            found.append(problem)
            if problem is None:
                accepted.setdefault(qid, []).append(presentation)
            else:
                problems.append(f"{qid}: presentation {number}: {problem}")
        verdicts[qid] = tuple(found)
    satisfied, _, _, missing = _sets_outcome(query, set(accepted))
    problems.extend(missing)
    return DcqlCheck(satisfied and token_ok, accepted, tuple(problems), verdicts)
