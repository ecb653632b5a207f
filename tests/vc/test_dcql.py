"""vc.dcql: wallet-side matching and verifier-side checking with the OpenID4VP §6 / App. D DCQL examples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from schemas.dcql import DcqlQuery, parse_dcql_query
from vc.dcql import OB_VOCAB, VC_VOCAB, W3C_TYPE_IRIS, Candidate, check_presentations, match_credentials

VECTORS = Path(__file__).parents[1] / "vectors" / "oid4vp"
IDENTITY = "https://credentials.example.com/identity_credential"


def _vector(name: str) -> dict[str, Any]:
    return json.loads((VECTORS / f"{name}.json").read_text())


def _query(name: str) -> DcqlQuery:
    return parse_dcql_query(_vector(name)["message"])


def _sd_jwt(cid: str, vct: str, claims: dict[str, Any], **extra: Any) -> Candidate:
    return Candidate(id=cid, format="dc+sd-jwt", vct=vct, claims={"vct": vct, **claims}, **extra)


#: The SD-JWT VC of OpenID4VCI App. A.4.3 (credential_response_sd_jwt_vc), all disclosures applied.
JOHN = _sd_jwt(
    "john",
    IDENTITY,
    {
        "given_name": "John",
        "family_name": "Doe",
        "email": "johndoe@example.com",
        "phone_number": "+1-202-555-0101",
        "address": {"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate", "country": "US"},
        "birthdate": "1940-01-01",
        "is_over_18": True,
        "is_over_21": True,
        "is_over_65": True,
    },
)


def test_spec_credential_answers_the_alternatives_query() -> None:
    result = match_credentials(_query("dcql_credentials_alternatives"), [JOHN])
    assert result.satisfied
    assert result.selection == ("pid",)
    [match] = result.matches["pid"]
    assert match.candidate is JOHN
    assert match.disclose == (("given_name",), ("family_name",), ("address", "street_address"))
    assert result.presentations == {"pid": [match]}
    assert [s.chosen for s in result.credential_sets] == [("pid",), None]


def test_credential_sets_choose_an_alternative_and_optional_sets() -> None:
    query = _query("dcql_credentials_alternatives")
    reduced_1 = _sd_jwt(
        "r1",
        "https://credentials.example.com/reduced_identity_credential",
        {"family_name": "Doe", "given_name": "John"},
    )
    reduced_2 = _sd_jwt(
        "r2",
        "https://cred.example/residence_credential",
        {"postal_code": "90210", "locality": "Beverly Hills", "region": "CA"},
    )
    rewards = _sd_jwt("rw", "https://company.example/company_rewards", {"rewards_number": "123"})
    result = match_credentials(query, [rewards, reduced_2, reduced_1])
    assert result.satisfied
    assert result.selection == ("pid_reduced_cred_1", "pid_reduced_cred_2", "nice_to_have")
    assert result.credential_sets[0].satisfiable_options == (("pid_reduced_cred_1", "pid_reduced_cred_2"),)
    assert result.credential_sets[1].chosen == ("nice_to_have",)
    only_one = match_credentials(query, [reduced_1, rewards])
    assert not only_one.satisfied and only_one.selection == () and only_one.presentations == {}
    assert only_one.missing == (
        "credential set 0: none of the options [['pid'], ['other_pid'], ['pid_reduced_cred_1', 'pid_reduced_cred_2']] can be answered",
    )


def test_simple_query_needs_every_claim() -> None:
    query = _query("dcql_simple")  # last_name, first_name, address.street_address
    assert not match_credentials(query, [JOHN]).satisfied
    jane = _sd_jwt(
        "jane", IDENTITY, {"last_name": "Roe", "first_name": "Jane", "address": {"street_address": "1 Elm St"}}
    )
    result = match_credentials(query, [JOHN, jane])
    assert result.satisfied and [m.candidate.id for m in result.matches["my_credential"]] == ["jane"]
    assert match_credentials(query, []).missing == ("credential query my_credential has no matching credential",)


def test_claim_sets_follow_the_verifier_preference() -> None:
    query = _query("dcql_claims_alternatives")  # sets [a, c, d, e] then [a, b, e]
    both = _sd_jwt(
        "both",
        IDENTITY,
        {"last_name": "Doe", "postal_code": "90210", "locality": "L", "region": "R", "date_of_birth": "1990-01-01"},
    )
    postal = _sd_jwt("postal", IDENTITY, {"last_name": "Doe", "postal_code": "90210", "date_of_birth": "1990-01-01"})
    neither = _sd_jwt("neither", IDENTITY, {"last_name": "Doe", "postal_code": "90210"})
    matches = {m.candidate.id: m for m in match_credentials(query, [both, postal, neither]).matches["pid"]}
    assert set(matches) == {"both", "postal"}
    assert matches["both"].claim_set == ("a", "c", "d", "e")
    assert matches["both"].disclose == (("last_name",), ("locality",), ("region",), ("date_of_birth",))
    assert matches["postal"].claim_set == ("a", "b", "e")
    assert matches["postal"].disclose == (("last_name",), ("postal_code",), ("date_of_birth",))


def test_value_matching_compares_type_and_value() -> None:
    query = _query("dcql_value_matching_simple")  # last_name Doe, postal_code 90210 | 90211
    base = {"last_name": "Doe", "first_name": "J", "address": {"street_address": "x"}}
    ok = _sd_jwt("ok", IDENTITY, {**base, "postal_code": "90211"})
    other_code = _sd_jwt("other", IDENTITY, {**base, "postal_code": "12345"})
    number = _sd_jwt("number", IDENTITY, {**base, "postal_code": 90210})
    other_name = _sd_jwt("roe", IDENTITY, {**base, "last_name": "Roe", "postal_code": "90210"})
    result = match_credentials(query, [ok, other_code, number, other_name])
    assert [m.candidate.id for m in result.matches["my_credential"]] == ["ok"]


def test_booleans_are_not_integers() -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "age",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [IDENTITY]},
                    "claims": [{"path": ["is_over_18"], "values": [1]}],
                }
            ]
        }
    )
    assert not match_credentials(query, [JOHN]).satisfied
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "age",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [IDENTITY]},
                    "claims": [{"path": ["is_over_18"], "values": [True]}],
                }
            ]
        }
    )
    assert match_credentials(query, [JOHN]).satisfied


def test_wildcard_paths_disclose_only_matching_elements() -> None:
    person = _sd_jwt(
        "p", IDENTITY, {"nationalities": ["British", "Betelgeusian"], "degrees": [{"type": "BSc"}, {"type": "MSc"}]}
    )
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "p",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [IDENTITY]},
                    "claims": [
                        {"path": ["nationalities", None], "values": ["British"]},
                        {"path": ["degrees", None, "type"]},
                    ],
                }
            ]
        }
    )
    [match] = match_credentials(query, [person]).matches["p"]
    assert match.disclose == (("nationalities", 0), ("degrees", 0, "type"), ("degrees", 1, "type"))


def test_no_claims_means_nothing_selectively_disclosed_and_aka_vcts() -> None:
    query = parse_dcql_query(
        {"credentials": [{"id": "p", "format": "dc+sd-jwt", "meta": {"vct_values": ["https://example.com/base"]}}]}
    )
    derived = _sd_jwt("d", "https://example.com/derived", {}, aka_vcts=("https://example.com/base",))
    unrelated = _sd_jwt("u", "https://example.com/other", {})
    result = match_credentials(query, [derived, unrelated])
    assert [(m.candidate.id, m.disclose, m.claim_set) for m in result.matches["p"]] == [("d", (), None)]


def test_holder_binding_requirement() -> None:
    unbound = _sd_jwt("u", IDENTITY, {"given_name": "A"}, holder_binding=False)
    body = {
        "credentials": [
            {"id": "p", "format": "dc+sd-jwt", "meta": {"vct_values": [IDENTITY]}, "claims": [{"path": ["given_name"]}]}
        ]
    }
    assert not match_credentials(parse_dcql_query(body), [unbound]).satisfied
    body["credentials"][0]["require_cryptographic_holder_binding"] = False
    assert match_credentials(parse_dcql_query(body), [unbound]).satisfied


def test_multiple_presents_every_match() -> None:
    body = {"credentials": [{"id": "p", "format": "dc+sd-jwt", "multiple": True, "meta": {"vct_values": [IDENTITY]}}]}
    second = _sd_jwt("john2", IDENTITY, {})
    result = match_credentials(parse_dcql_query(body), [JOHN, second])
    assert [m.candidate.id for m in result.presentations["p"]] == ["john", "john2"]
    body["credentials"][0]["multiple"] = False
    assert [m.candidate.id for m in match_credentials(parse_dcql_query(body), [JOHN, second]).presentations["p"]] == [
        "john"
    ]


def _mdoc(cid: str, doctype: str, elements: dict[str, Any]) -> Candidate:
    return Candidate(id=cid, format="mso_mdoc", doctype=doctype, claims={"org.iso.18013.5.1": elements})


def test_complex_mdoc_query() -> None:
    query = _query("dcql_complex_mdoc")
    id_only = {"given_name": "A", "family_name": "B", "portrait": "..."}
    photo = _mdoc(
        "photo", "org.iso.23220.photoid.1", {**id_only, "resident_address": "1 Road", "resident_country": "NL"}
    )
    mdl = _mdoc("mdl", "org.iso.18013.5.1.mDL", id_only)
    result = match_credentials(query, [mdl, photo])
    assert result.satisfied
    assert result.credential_sets[0].satisfiable_options == (("mdl-id",), ("photo_card-id",))
    assert result.selection == ("mdl-id", "photo_card-address")
    assert not match_credentials(query, [_mdoc("x", "org.iso.18013.5.1.mDL", {"given_name": "A"})]).satisfied


def test_w3c_type_values_example() -> None:
    vector = _vector("dcql_type_values")
    query = parse_dcql_query(vector["message"])
    terms = {**W3C_TYPE_IRIS, **vector["context_terms"]}
    candidates = [
        Candidate(id=str(i), format="jwt_vc_json", type=tuple(types), claims={"type": types})
        for i, types in enumerate(vector["matching_types"])
    ]
    candidates.append(Candidate(id="plain", format="jwt_vc_json", type=("VerifiableCredential",), claims={}))
    candidates.append(
        Candidate(id="alumni_only", format="jwt_vc_json", type=("VerifiableCredential", "AlumniCredential"), claims={})
    )
    result = match_credentials(query, candidates, type_iris=terms)
    assert [m.candidate.id for m in result.matches["w3c"]] == ["0", "1", "2"]


OB3 = Candidate(
    id="badge",
    format="jwt_vc_json",
    type=("VerifiableCredential", "OpenBadgeCredential"),
    claims={
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "credentialSubject": {"achievement": {"name": "Web Security Essentials"}},
    },
)
OB3_ALIAS = Candidate(
    id="alias", format="jwt_vc_json", type=("VerifiableCredential", "AchievementCredential"), claims=OB3.claims
)


@pytest.mark.parametrize(
    "type_values",
    [
        [[OB_VOCAB + "OpenBadgeCredential"]],
        [["OpenBadgeCredential"]],
        [[VC_VOCAB + "VerifiableCredential", OB_VOCAB + "OpenBadgeCredential"]],
        [["https://example.org/other#Degree"], [OB_VOCAB + "OpenBadgeCredential"]],
    ],
)
def test_open_badge_types(type_values: list[list[str]]) -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "ob3",
                    "format": "jwt_vc_json",
                    "meta": {"type_values": type_values},
                    "claims": [{"path": ["credentialSubject", "achievement", "name"]}],
                }
            ]
        }
    )
    result = match_credentials(query, [OB3, OB3_ALIAS, JOHN])
    assert [m.candidate.id for m in result.matches["ob3"]] == ["badge", "alias"]
    assert result.matches["ob3"][0].disclose == (("credentialSubject", "achievement", "name"),)


def test_other_types_do_not_match() -> None:
    query = parse_dcql_query(
        {
            "credentials": [
                {"id": "ob3", "format": "jwt_vc_json", "meta": {"type_values": [[OB_VOCAB + "EndorsementCredential"]]}}
            ]
        }
    )
    assert not match_credentials(query, [OB3]).satisfied
    ldp = parse_dcql_query(
        {"credentials": [{"id": "ob3", "format": "ldp_vc", "meta": {"type_values": [["OpenBadgeCredential"]]}}]}
    )
    assert not match_credentials(ldp, [OB3]).satisfied


def test_ten_thousand_candidates_are_filtered_by_format_and_type() -> None:
    wallet = [
        _sd_jwt(
            f"c{i}",
            IDENTITY if i % 100 == 0 else f"https://example.com/type/{i % 7}",
            {"given_name": "A", "family_name": "B", "address": {"street_address": "x"}},
        )
        for i in range(10_000)
    ]
    wallet += [Candidate(id=f"b{i}", format="jwt_vc_json", type=OB3.type, claims=OB3.claims) for i in range(1000)]
    result = match_credentials(_query("dcql_credentials_alternatives"), wallet)
    assert len(result.matches["pid"]) == 100 and result.selection == ("pid",)


# --- verifier side ---------------------------------------------------------------------------


def test_verifier_accepts_a_complete_answer() -> None:
    query = _query("dcql_credentials_alternatives")
    disclosed = _sd_jwt(
        "p0", IDENTITY, {"given_name": "John", "family_name": "Doe", "address": {"street_address": "123 Main St"}}
    )
    check = check_presentations(query, {"pid": [disclosed]})
    assert check.satisfied and check.problems == () and check.accepted == {"pid": [disclosed]}
    assert check.verdicts == {"pid": (None,)}


def test_verifier_names_missing_claims_and_sets() -> None:
    query = _query("dcql_credentials_alternatives")
    partial = _sd_jwt("p0", IDENTITY, {"given_name": "John", "family_name": "Doe"})
    check = check_presentations(query, {"pid": [partial]})
    assert not check.satisfied and check.accepted == {}
    assert check.problems[0] == "pid: presentation 0: claim ['address', 'street_address'] is missing"
    assert check.problems[1].startswith("credential set 0: none of the options")
    assert check.verdicts == {"pid": ("claim ['address', 'street_address'] is missing",)}


def test_verifier_gives_a_verdict_per_presentation() -> None:
    query = parse_dcql_query({"credentials": [
        {"id": "pid", "format": "dc+sd-jwt", "multiple": True, "meta": {"vct_values": [IDENTITY]},
         "claims": [{"path": ["given_name"]}]},
        {"id": "other", "format": "dc+sd-jwt", "meta": {"vct_values": [IDENTITY]}},
    ]})
    check = check_presentations(query, {"pid": [JOHN, _sd_jwt("x", IDENTITY, {})], "other": [JOHN, JOHN],
                                        "unknown": [JOHN]})
    assert not check.satisfied and check.accepted == {"pid": [JOHN]}
    assert check.verdicts == {
        "pid": (None, "claim ['given_name'] is missing"),
        "other": ("other: expected one presentation, got 2",) * 2,
        "unknown": ("vp_token has unknown, which is not a credential query id",),
    }


@pytest.mark.parametrize(
    ("presented", "problem"),
    [
        (
            {"pid": [_sd_jwt("x", "https://othercredentials.example/pid", {})]},
            "pid: presentation 0: vct https://othercredentials.example/pid is not one of the requested vct_values",
        ),
        (
            {"pid": [Candidate(id="x", format="jwt_vc_json", claims={})]},
            "pid: presentation 0: format jwt_vc_json is not dc+sd-jwt",
        ),
        ({"pid": [JOHN, JOHN]}, "pid: expected one presentation, got 2"),
        ({"pid": []}, "pid: expected one presentation, got 0"),
        ({"pid": [JOHN], "unknown": [JOHN]}, "vp_token has unknown, which is not a credential query id"),
        (
            {"pid": [_sd_jwt("x", IDENTITY, dict(JOHN.claims), holder_binding=False)]},
            "pid: presentation 0: cryptographic holder binding is required",
        ),
    ],
)
def test_verifier_refusals(presented: dict[str, list[Candidate]], problem: str) -> None:
    check = check_presentations(_query("dcql_credentials_alternatives"), presented)
    assert not check.satisfied
    assert problem in check.problems


def test_verifier_rechecks_values_and_optional_sets() -> None:
    query = _query("dcql_value_matching_simple")
    base = {"last_name": "Doe", "first_name": "J", "address": {"street_address": "x"}}
    assert check_presentations(
        query, {"my_credential": [_sd_jwt("a", IDENTITY, {**base, "postal_code": "90210"})]}
    ).satisfied
    wrong = check_presentations(query, {"my_credential": [_sd_jwt("a", IDENTITY, {**base, "postal_code": "10001"})]})
    assert wrong.problems == (
        "my_credential: presentation 0: claim ['postal_code'] is missing or has another value",
        "credential query my_credential has no matching credential",
    )
    mdoc = _query("dcql_complex_mdoc")
    photo = _mdoc("p", "org.iso.23220.photoid.1", {"given_name": "A", "family_name": "B", "portrait": "..."})
    assert check_presentations(mdoc, {"photo_card-id": [photo]}).satisfied
    assert not check_presentations(mdoc, {"mdl-address": [photo]}).satisfied


def test_spec_sd_jwt_vc_example() -> None:
    vector = _vector("sd_jwt_vc_disclosed_claims")
    holder = _sd_jwt("spec", vector["vct"], vector["claims"])
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "my_credential",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [vector["vct"]]},
                    "claims": [
                        {"path": ["given_name"]},
                        {"path": ["family_name"]},
                        {"path": ["birthdate"], "values": ["1940-01-01"]},
                    ],
                }
            ]
        }
    )
    [match] = match_credentials(query, [holder]).matches["my_credential"]
    assert match.disclose == (("given_name",), ("family_name",), ("birthdate",))
    assert not match_credentials(_query("dcql_simple"), [holder]).satisfied  # it has no last_name / first_name
