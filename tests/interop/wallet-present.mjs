#!/usr/bin/env node
// An independent OpenID4VP 1.0 wallet on oid4vc-ts's Openid4vpClient and sd-jwt-js.
//
//   node wallet-present.mjs OPENID4VP_URI --credential C --holder-jwk J [--format dc+sd-jwt|jwt_vc_json]
//        [--disclose-all] [--kb-aud A] [--kb-nonce N] [--no-submit]
//
// Resolves the request (by value, or request_uri GET/POST; a signed request object is verified for
// its client identifier prefix by oid4vc-ts), answers the DCQL query with an SD-JWT+KB (only the
// requested disclosures unless --disclose-all) or a VP JWT, and posts it with direct_post or
// direct_post.jwt (JWE, ECDH-ES). `C` and `J` may be `@file` or `-` (stdin). Prints one JSON document:
// {status, http_status, verifier_response, client_id, response_mode, query_id, disclosed, vp_token}.
// --kb-aud / --kb-nonce put a wrong audience / nonce in the holder binding (negative tests).

import { Openid4vpClient } from '@openid4vc/openid4vp'
import { decodeJwt, InteropError, parseArgs, randomToken, runMain, safeFetch } from './lib/common.mjs'
import { createCallbacks, KeyStore } from './lib/callbacks.mjs'
import { createVpJwt, matchesQuery, presentSdJwt, satisfiedClaims, sdJwtClaims } from './lib/credentials.mjs'

const USAGE = {
  positional: ['request'],
  options: {
    '--credential': 'string',
    '--holder-jwk': 'string',
    '--format': 'string',
    '--disclose-all': 'bool',
    '--kb-aud': 'string',
    '--kb-nonce': 'string',
    '--no-submit': 'bool',
  },
}

const WALLET_METADATA = {
  vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] }, jwt_vc_json: { alg_values: ['ES256'] } },
  client_id_prefixes_supported: ['x509_hash', 'x509_san_dns', 'decentralized_identifier', 'redirect_uri'],
  request_object_signing_alg_values_supported: ['ES256'],
  authorization_encryption_alg_values_supported: ['ECDH-ES'],
  authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
}

/**
 * request_uri_method=post (OpenID4VP 1.0 § 5.10): form-encoded `wallet_metadata` (JSON string) and
 * `wallet_nonce`. Done here because oid4vc-ts 0.4.6 posts the metadata members flattened and drops
 * `wallet_nonce` (see the report in tests/interop/README.md).
 */
async function fetchRequestObjectByPost(requestUri, walletNonce) {
  const response = await safeFetch(requestUri, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/oauth-authz-req+jwt' },
    body: new URLSearchParams({ wallet_metadata: JSON.stringify(WALLET_METADATA), wallet_nonce: walletNonce }).toString(),
  })
  const body = await response.text()
  if (!response.ok) throw new InteropError('invalid_request_uri', `request_uri POST answered ${response.status}`, body)
  return body.trim()
}

async function describeCredential(credential, format) {
  if (format === 'dc+sd-jwt') {
    const claims = await sdJwtClaims(credential)
    return { format, vct: claims.vct, types: [], claims }
  }
  const { payload } = decodeJwt(credential)
  const vc = payload.vc && typeof payload.vc === 'object' ? payload.vc : payload
  return { format, types: [vc.type].flat(), claims: vc }
}

async function present(argv) {
  const args = await parseArgs(argv, USAGE)
  if (!args.credential || !args.holder_jwk) throw new InteropError('usage', '--credential and --holder-jwk are required')
  const holderJwk = JSON.parse(args.holder_jwk)
  const format = args.format ?? (args.credential.includes('~') ? 'dc+sd-jwt' : 'jwt_vc_json')
  const keys = new KeyStore()
  keys.add(holderJwk)
  const callbacks = createCallbacks(keys)
  const client = new Openid4vpClient({ callbacks })

  const { params } = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: args.request })
  let authorizationRequestPayload = params
  let wallet
  if (params.request_uri && params.request_uri_method === 'post') {
    const walletNonce = randomToken(16)
    const request = await fetchRequestObjectByPost(params.request_uri, walletNonce)
    authorizationRequestPayload = { client_id: params.client_id, request }
    wallet = { expectedNonce: walletNonce }
  }
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload, wallet })
  const request = resolved.authorizationRequestPayload
  const query = resolved.dcql?.query
  if (!query?.credentials) throw new InteropError('invalid_request', 'the request has no dcql_query')

  const described = await describeCredential(args.credential, format)
  const credentialQuery = query.credentials.find((candidate) => matchesQuery(candidate, described))
  const base = {
    client_id: request.client_id,
    client_id_prefix: resolved.client.prefix,
    signed_request: Boolean(resolved.jar),
    response_mode: request.response_mode,
    dcql_query: query,
  }
  let authorizationResponsePayload
  let disclosed = []
  let vpToken
  if (!credentialQuery) {
    authorizationResponsePayload = { error: 'access_denied', error_description: 'no credential matches the DCQL query' }
  } else {
    const aud = args.kb_aud ?? request.client_id
    const nonce = args.kb_nonce ?? request.nonce
    let presentation
    if (format === 'dc+sd-jwt') {
      const paths = args.disclose_all
        ? Object.keys(described.claims).map((key) => [key])
        : (satisfiedClaims(credentialQuery, described.claims) ?? []).map((claim) => claim.path)
      ;({ presentation, disclosed } = await presentSdJwt(args.credential, paths, holderJwk, { aud, nonce }))
    } else {
      presentation = await createVpJwt([args.credential], holderJwk, { aud, nonce })
      disclosed = ['(whole credential)']
    }
    vpToken = { [credentialQuery.id]: [presentation] }
    authorizationResponsePayload = { vp_token: vpToken }
  }
  // direct_post.jwt: the response, an error response too, goes encrypted (OpenID4VP 1.0 § 8.3).
  const jarm =
    request.response_mode === 'direct_post.jwt'
      ? {
          encryption: {},
          serverMetadata: {
            authorization_encryption_alg_values_supported: WALLET_METADATA.authorization_encryption_alg_values_supported,
            authorization_encryption_enc_values_supported: WALLET_METADATA.authorization_encryption_enc_values_supported,
          },
        }
      : undefined
  const created = await client.createOpenid4vpAuthorizationResponse({ authorizationRequestPayload: request, authorizationResponsePayload, jarm })
  const out = { ...base, query_id: credentialQuery?.id ?? null, disclosed, vp_token: vpToken ?? null, response_uri: request.response_uri }
  if (args.no_submit) {
    const response = created.jarm ? { response: created.jarm.responseJwt } : created.authorizationResponsePayload
    return { status: 'not_submitted', ...out, response }
  }
  const { response: submitted } = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: created.authorizationResponsePayload,
    jarm: created.jarm,
  })
  const bodyText = await submitted.text()
  let verifierResponse
  try {
    verifierResponse = JSON.parse(bodyText)
  } catch {
    verifierResponse = bodyText
  }
  return {
    status: authorizationResponsePayload.error ? 'declined' : submitted.ok ? 'submitted' : 'refused',
    http_status: submitted.status,
    verifier_response: verifierResponse,
    redirect_uri: verifierResponse?.redirect_uri ?? null,
    encrypted: Boolean(created.jarm),
    ...out,
  }
}

runMain(present)
