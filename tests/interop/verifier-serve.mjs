#!/usr/bin/env node
// An independent OpenID4VP 1.0 verifier on oid4vc-ts's Openid4vpVerifier and sd-jwt-js.
//
//   node verifier-serve.mjs --port P
//
// Serves on 127.0.0.1, public as http://localhost:P; prints one JSON line when ready:
// {base_url, x509_hash_client_id, did}.
//   POST /requests {format?: "dc+sd-jwt"|"jwt_vc_json", vct_values?, type_values?, claims?: [[path...]...],
//                   dcql_query?, client_id_prefix?: "x509_hash"|"x509_san_dns"|"decentralized_identifier"|"redirect_uri",
//                   response_mode?: "direct_post"|"direct_post.jwt", request_uri_method?: "get"|"post",
//                   trusted_issuers?: [...]}
//     -> {id, request_uri (openid4vp://...), client_id, nonce, state}
//   GET|POST /requests/<id>/request.jwt   the signed request object (POST: request_uri_method=post)
//   POST /response                         the direct_post / direct_post.jwt response endpoint
//   GET /results/<id>                      {status: pending|verified|rejected, checks, claims, error?}

import crypto from 'node:crypto'
import { Openid4vpVerifier } from '@openid4vc/openid4vp'
import { InteropError, randomToken } from './lib/common.mjs'
import { createCallbacks, generateEcKey, KeyStore } from './lib/callbacks.mjs'
import { satisfiedClaims, verifySdJwtVc, verifyVpJwt } from './lib/credentials.mjs'
import { selfSignedCertificate } from './lib/x509.mjs'
import { json, protocolError, serve, text } from './lib/http.mjs'

const OB3_TYPE_VALUES = [['https://purl.imsglobal.org/spec/vc/ob/vocab.html#OpenBadgeCredential'], ['OpenBadgeCredential']]
const VP_FORMATS = {
  'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256', 'ES384', 'EdDSA'], 'kb-jwt_alg_values': ['ES256', 'ES384', 'EdDSA'] },
  jwt_vc_json: { alg_values: ['ES256', 'ES384', 'EdDSA', 'RS256'] },
}
const REQUEST_LIFETIME = 600

function dcqlFor(body) {
  if (body.dcql_query) return body.dcql_query
  const format = body.format ?? 'dc+sd-jwt'
  const meta = format === 'dc+sd-jwt' ? { vct_values: body.vct_values } : { type_values: body.type_values ?? OB3_TYPE_VALUES }
  if (format === 'dc+sd-jwt' && !Array.isArray(body.vct_values)) throw new InteropError('invalid_request', 'dc+sd-jwt needs vct_values')
  const query = { id: 'credential', format, meta }
  if (body.claims?.length) query.claims = body.claims.map((path) => ({ path }))
  return { credentials: [query] }
}

async function setup(base) {
  const keys = new KeyStore()
  const did = `did:web:${encodeURIComponent(new URL(base).host)}`
  const signingKey = (await generateEcKey('request-key-1')).privateJwk
  keys.add(signingKey, `${did}#key-1`)
  const certificate = selfSignedCertificate(signingKey, { cn: 'interop verifier', dnsNames: ['localhost'] })
  const x509Hash = crypto.createHash('sha256').update(Buffer.from(certificate, 'base64')).digest('base64url')
  const callbacks = createCallbacks(keys)
  const verifier = new Openid4vpVerifier({ callbacks })
  const responseUri = `${base}/response`
  const requests = new Map() // id -> {payload, jarOptions, prefix, result, answered, walletPost}
  const byState = new Map()
  const byKid = new Map()
  const publicOf = ({ d, ...rest }) => rest

  function clientIdFor(prefix) {
    if (prefix === 'x509_hash') return { clientId: `x509_hash:${x509Hash}`, signer: { method: 'x5c', alg: 'ES256', x5c: [certificate] } }
    if (prefix === 'x509_san_dns') return { clientId: 'x509_san_dns:localhost', signer: { method: 'x5c', alg: 'ES256', x5c: [certificate] } }
    if (prefix === 'decentralized_identifier') return { clientId: `decentralized_identifier:${did}`, signer: { method: 'did', alg: 'ES256', didUrl: `${did}#key-1` } }
    if (prefix === 'redirect_uri') return { clientId: `redirect_uri:${responseUri}` }
    throw new InteropError('invalid_request', `unknown client_id_prefix ${prefix}`)
  }

  async function createRequest(request) {
    const body = request.json() ?? {}
    const id = randomToken(12)
    const prefix = body.client_id_prefix ?? 'x509_hash'
    const responseMode = body.response_mode ?? 'direct_post'
    const { clientId, signer } = clientIdFor(prefix)
    const clientMetadata = { vp_formats_supported: VP_FORMATS, client_name: 'Interop Verifier' }
    if (responseMode === 'direct_post.jwt') {
      const kid = `response-key-${id}` // an ephemeral key per request (HAIP 1.0 § 5)
      const encryptionKey = (await generateEcKey(kid)).privateJwk
      keys.add(encryptionKey)
      byKid.set(kid, id)
      clientMetadata.jwks = { keys: [{ ...publicOf(encryptionKey), use: 'enc', alg: 'ECDH-ES' }] }
      clientMetadata.encrypted_response_enc_values_supported = ['A128GCM', 'A256GCM']
    }
    const payload = {
      response_type: 'vp_token',
      client_id: clientId,
      response_mode: responseMode,
      response_uri: responseUri,
      nonce: randomToken(24),
      state: randomToken(16),
      dcql_query: dcqlFor(body),
      client_metadata: clientMetadata,
    }
    const requestUri = `${base}/requests/${id}/request.jwt`
    const jar = signer
      ? { requestUri, jwtSigner: signer, expiresInSeconds: REQUEST_LIFETIME, additionalJwtPayload: { aud: 'https://self-issued.me/v2' } }
      : undefined
    const created = await verifier.createOpenId4vpAuthorizationRequest({ authorizationRequestPayload: payload, jar })
    let uri = created.authorizationRequest
    if (jar && body.request_uri_method === 'post') uri += '&request_uri_method=post'
    const trusted = Array.isArray(body.trusted_issuers) ? body.trusted_issuers : undefined
    requests.set(id, { id, payload, jar, prefix, trusted, jwt: created.jar?.authorizationRequestJwt, result: { status: 'pending' }, answered: false, walletPosts: [] })
    byState.set(payload.state, id)
    return json({ id, request_uri: uri, client_id: clientId, nonce: payload.nonce, state: payload.state, dcql_query: payload.dcql_query }, 201)
  }

  async function requestObject(request, match) {
    const entry = requests.get(match[1])
    if (!entry?.jar) return protocolError('invalid_request_uri', 'no such request object', 404)
    if (request.method === 'GET') return text(entry.jwt, 'application/oauth-authz-req+jwt')
    // OpenID4VP 1.0 § 5.10: wallet_metadata (a JSON string) and wallet_nonce, form-encoded.
    const form = request.form()
    entry.walletPosts.push({ content_type: request.headers.get('content-type'), accept: request.headers.get('accept'), form })
    const payload = { ...entry.payload, ...(form.wallet_nonce ? { wallet_nonce: form.wallet_nonce } : {}) }
    const wallet = form.wallet_nonce ? { expectedNonce: form.wallet_nonce } : undefined
    const signed = await verifier.createOpenId4vpAuthorizationRequest({ authorizationRequestPayload: payload, jar: entry.jar, wallet })
    return text(signed.jar.authorizationRequestJwt, 'application/oauth-authz-req+jwt')
  }

  async function verifyPresentation(query, presentation, payload) {
    const aud = payload.client_id
    if (query.format === 'dc+sd-jwt') {
      const result = await verifySdJwtVc(presentation, { kb: { nonce: payload.nonce, aud } })
      if (query.meta?.vct_values && !query.meta.vct_values.includes(result.claims.vct)) throw new InteropError('dcql_not_satisfied', `vct ${result.claims.vct}`)
      return { issuer: result.issuer, claims: result.claims, checks: result.checks }
    }
    if (query.format === 'jwt_vc_json') {
      const result = await verifyVpJwt(presentation, { aud, nonce: payload.nonce })
      const [first] = result.credentials
      const types = first.types
      const typeOk = (query.meta?.type_values ?? [[]]).some((alt) => alt.every((t) => types.some((have) => have === t || t.endsWith(`#${have}`))))
      if (!typeOk) throw new InteropError('dcql_not_satisfied', `types ${types}`)
      return { issuer: first.issuer, claims: first.credential, checks: { ...result.checks, ...first.checks } }
    }
    throw new InteropError('vp_formats_not_supported', query.format)
  }

  async function response(request) {
    const form = request.form()
    let id = byState.get(form.state)
    if (!id && form.response) {
      const header = JSON.parse(Buffer.from(form.response.split('.')[0], 'base64url').toString())
      id = byKid.get(header.kid)
    }
    const entry = requests.get(id)
    if (!entry) return protocolError('invalid_request', 'unknown state / response key')
    if (entry.answered) return protocolError('invalid_request', 'this request has already been answered')
    entry.answered = true // single use, set before any await
    const { payload } = entry
    const result = { status: 'rejected', client_id: payload.client_id, checks: {}, claims: {}, response_mode: form.response ? 'direct_post.jwt' : 'direct_post' }
    entry.result = result
    try {
      if (form.error) throw new InteropError(form.error, form.error_description ?? 'wallet error response')
      if (form.response) {
        // An encrypted error response (oid4vc-ts's parser expects a vp_token, so look first).
        const decrypted = await callbacks.decryptJwe(form.response)
        const inner = decrypted.decrypted ? JSON.parse(decrypted.payload) : {}
        if (inner.error) throw new InteropError(inner.error, inner.error_description ?? 'wallet error response')
      }
      const parsed = await verifier.parseOpenid4vpAuthorizationResponse({ authorizationResponse: form, authorizationRequestPayload: payload, callbacks })
      if (parsed.type !== 'dcql') throw new InteropError('invalid_request', 'not a DCQL response')
      result.encrypted = Boolean(parsed.jarm)
      result.vp_token = parsed.dcql.presentations // what the wallet sent, for the tests to inspect
      for (const query of payload.dcql_query.credentials) {
        const presentations = parsed.dcql.presentations[query.id]
        if (!presentations?.length) throw new InteropError('dcql_not_satisfied', `no presentation for ${query.id}`)
        if (!query.multiple && presentations.length > 1) throw new InteropError('dcql_not_satisfied', `several presentations for ${query.id}`)
        for (const presentation of presentations) {
          const verified = await verifyPresentation(query, presentation, payload)
          if (entry.trusted && !entry.trusted.includes(verified.issuer)) throw new InteropError('untrusted_issuer', verified.issuer)
          if (!satisfiedClaims(query, verified.claims)) throw new InteropError('dcql_not_satisfied', `claims missing for ${query.id}`)
          result.checks[query.id] = verified.checks
          result.claims[query.id] = verified.claims
        }
      }
      result.status = 'verified'
      return json({})
    } catch (error) {
      result.error = error.error ?? error.errorResponse?.error ?? 'invalid_presentation'
      result.error_description = String(error.message)
      return json({ error: 'invalid_request', error_description: `presentation rejected: ${result.error}` }, 400)
    }
  }

  function results(_, match) {
    const entry = requests.get(match[1])
    if (!entry) return protocolError('not_found', 'no such request', 404)
    return json({ ...entry.result, wallet_posts: entry.walletPosts })
  }

  const didDocument = () => ({
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/jwk/v1'],
    id: did,
    verificationMethod: [{ id: `${did}#key-1`, type: 'JsonWebKey', controller: did, publicKeyJwk: publicOf(signingKey) }],
    authentication: [`${did}#key-1`],
    assertionMethod: [`${did}#key-1`],
  })

  const routes = [
    ['POST', /^\/requests$/, createRequest],
    ['GET', /^\/requests\/([\w-]+)\/request\.jwt$/, requestObject],
    ['POST', /^\/requests\/([\w-]+)\/request\.jwt$/, requestObject],
    ['POST', /^\/response$/, response],
    ['GET', /^\/results\/([\w-]+)$/, results],
    ['GET', /^\/\.well-known\/did\.json$/, () => json(didDocument())],
  ]
  return { routes, ready: async () => ({ x509_hash_client_id: `x509_hash:${x509Hash}`, did, certificate }) }
}

serve(process.argv.slice(2), setup).catch((error) => {
  process.stdout.write(`${JSON.stringify({ error: 'startup_failed', error_description: String(error?.message ?? error) })}\n`)
  process.exit(1)
})
