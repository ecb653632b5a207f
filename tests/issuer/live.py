"""Helpers of the issuer's integration tests: a full microcredential badge class, awarding it, the CLI."""

from __future__ import annotations

from typing import Any

import httpx

from tests.cli import eduwallet, json_document
from tests.servers import RunningService
from vc.fetch import Fetcher
from vc.key_resolution import VerificationKeyResolver
from vc.sd_jwt import IssuerKeyCallback

MICROCREDENTIAL = {
    "description": "Secure design and testing of web APIs.",
    "criteria_narrative": "Pass the final assessment with at least 5.5.",
    "achievement_type": "MicroCredential", "ects": 3.0, "eqf_level": 6, "nlqf_level": 6,
    "tags": ["security"], "language": "en-GB",
    "learning_outcomes": ["Threat modelling", "Secure API design"],
    "alignments": [{"targetName": "manage ICT security", "targetType": "ext:ESCO",
                    "targetUrl": "http://data.europa.eu/esco/skill/4e8f7e7b-0b2d-4d3a-a0b4-2f3e1a7c5d11"}],
    "result_descriptions": [{"name": "Final grade", "resultType": "ext:ECTSGradeScore", "requiredValue": "5.5",
                             "valueMin": "1", "valueMax": "10"}],
    "assessment_type": "testing", "participation_type": "online", "supervision_type": "supervised online",
    "identity_checked": True, "quality_assurance": {"name": "NVAO", "url": "https://www.nvao.net/"},
}


def award(admin_api: httpx.Client, badge: dict[str, Any], **fields: Any) -> dict[str, Any]:
    body = {"name": "Ada Lovelace", "email": "ada@student.example.nl", "result": "8.5", **fields}
    response = admin_api.post(f"/admin/badge-classes/{badge['id']}/awards", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def run(issuer: RunningService, *args: str, code: int = 0) -> Any:
    """Run the command with `--json` and the development token file found through EDUWALLET_ISSUER_VAR_DIR."""
    result = eduwallet("issuer", *args, "--url", issuer.url, "--json",
                       env={"EDUWALLET_ISSUER_VAR_DIR": str(issuer.var_dir), "EDUWALLET_ISSUER_TOKEN": ""})
    assert result.returncode == code, result.stdout + result.stderr
    return json_document(result)  # exactly one JSON document


def sd_jwt_vc_issuer_key(fetcher: Fetcher) -> IssuerKeyCallback:
    """The issuer key of an SD-JWT VC as our verifier and wallet find it (`VerificationKeyResolver`:
    an https `iss` → `/.well-known/jwt-vc-issuer`, the key named by the header `kid`)."""
    resolver = VerificationKeyResolver(fetcher=fetcher, cache=None)
    return lambda header, payload: resolver(payload.get("iss"), header)
