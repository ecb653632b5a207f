"""An independent OpenID4VCI 1.0 wallet takes the offer URI the CLI prints and obtains credentials in
every format: the `Openid4vciClient` of oid4vc-ts (openwallet-foundation-labs, npm `@openid4vc/openid4vci`),
run under Node. The credentials then verify against the keys the issuer publishes."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.issuer.live import award, run
from tests.servers import RunningService
from vc.did_jwk import create_did_jwk
from vc.fetch import Fetcher, FetchPolicy
from vc.key_resolution import VerificationKeyResolver
from vc.sd_jwt_vc import jwt_vc_issuer_key_resolver, verify_sd_jwt_vc
from vc.vc_jwt import verify_ob3_jwt

pytestmark = pytest.mark.integration

HERE = Path(__file__).parent / "interop"


@pytest.fixture(scope="module")
def wallet_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wallet script with its npm dependencies installed (from the npm registry) in a temporary folder."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("Node.js is not installed")
    folder = tmp_path_factory.mktemp("oid4vc-ts")
    for name in ("package.json", "oid4vc_ts_wallet.mjs"):
        shutil.copy(HERE / name, folder / name)
    subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=folder, check=True,
                   capture_output=True, timeout=300)
    return folder


def accept(wallet_dir: Path, offer_uri: str, tx_code: str | None = None) -> dict[str, Any]:
    args = ["node", "oid4vc_ts_wallet.mjs", offer_uri, *([tx_code] if tx_code else [])]
    done = subprocess.run(args, cwd=wallet_dir, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def fetcher() -> Fetcher:
    return Fetcher(FetchPolicy(allow_http_loopback=True))


def test_oid4vc_ts_obtains_an_open_badge_from_a_cli_offer_with_pin(issuer: RunningService, badge: dict[str, Any],
                                                                   wallet_dir: Path, fetcher: Fetcher) -> None:
    made = run(issuer, "award", "--badge", str(badge["id"]), "--name", "Ada Lovelace", "--email", "ada@x.nl",
               "--result", "8.5", "--pin")
    answer = accept(wallet_dir, made["offer_uri"], made["tx_code"])
    assert answer["credential_configuration_id"] == "EduCredential" and answer["notification_id"]
    [item] = answer["credentials"]
    credential = verify_ob3_jwt(item["credential"], resolve_key=VerificationKeyResolver(fetcher=fetcher)).credential
    assert credential["credentialSubject"]["id"] == create_did_jwk(answer["holder_jwk"])
    assert credential["credentialSubject"]["achievement"]["name"] == badge["name"]


@pytest.mark.parametrize("configuration", ["EduCredentialSdJwt", "EULearningCredential"])
def test_oid4vc_ts_obtains_sd_jwt_vcs(issuer: RunningService, admin_api: Any, badge: dict[str, Any],
                                      wallet_dir: Path, fetcher: Fetcher, configuration: str) -> None:
    made = award(admin_api, badge, credential_configuration_ids=[configuration])
    answer = accept(wallet_dir, made["offer_uri"])
    [item] = answer["credentials"]
    verified = verify_sd_jwt_vc(item["credential"], issuer_key=jwt_vc_issuer_key_resolver(fetcher), key_binding=False)
    assert verified.claims["cnf"]["jwk"] == answer["holder_jwk"]
    assert verified.claims["iss"] == issuer.url
