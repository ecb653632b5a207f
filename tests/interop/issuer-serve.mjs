#!/usr/bin/env node
// An independent OpenID4VCI 1.0 credential issuer + authorization server on oid4vc-ts
// (Openid4vciIssuer, Oauth2AuthorizationServer, Oauth2ResourceServer) and sd-jwt-js.
//
//   node issuer-serve.mjs --port P
//
// Serves on 127.0.0.1, public as http://localhost:P; prints one JSON line when ready:
// {base_url, credential_issuer, did, offer_uri, offer_id, pre_authorized_code, tx_code}.
// Offers two configurations: `interop_sd_jwt` (dc+sd-jwt) and `interop_ob3_jwt` (jwt_vc_json, OB3).
// More offers: POST /offers {credential_configuration_ids?, tx_code?: true|"1234", by_value?, layout?:
// "vcdm2.0"|"vcdm1.1", claims?: {...}}. Status: POST /admin/status {offer_id, status: valid|revoked|suspended}.
// GET /admin/tokens: {offer_id: token_type} of every redeemed offer (DPoP when the wallet proved a DPoP key).

import crypto from 'node:crypto'
import zlib from 'node:zlib'
import { Oauth2AuthorizationServer, Oauth2ResourceServer, Oauth2ServerErrorResponseError, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2'
import { Openid4vciIssuer } from '@openid4vc/openid4vci'
import { createHeaderAndPayload, StatusList } from '@sd-jwt/jwt-status-list'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { InteropError, randomToken } from './lib/common.mjs'
import { createCallbacks, generateEcKey, KeyStore, signJws } from './lib/callbacks.mjs'
import { rawSigner, VC_V1_CONTEXT, VC_V2_CONTEXT } from './lib/credentials.mjs'
import { didJwkFor, resolveDidUrl } from './lib/resolve.mjs'
import { json, protocolError, serve, text } from './lib/http.mjs'

const OB3_CONTEXT = 'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'
const SD_JWT_ID = 'interop_sd_jwt'
const OB3_ID = 'interop_ob3_jwt'
const TSL_SIZE = 1024
const BSL_BITS = 131072 // W3C Bitstring Status List § 6.1: at least 16 KB
const PROOF_MAX_AGE = 300

const sha256 = (data, alg = 'sha-256') => new Uint8Array(crypto.createHash(alg.replace('-', '')).update(data).digest())
const now = () => Math.floor(Date.now() / 1000)

async function setup(base) {
  const keys = new KeyStore()
  const did = `did:web:${encodeURIComponent(new URL(base).host)}`
  const issuerKey = (await generateEcKey('issuer-key-1')).privateJwk
  keys.add(issuerKey, `${did}#key-1`)
  const tokenKey = keys.add((await generateEcKey('access-token-key')).privateJwk)
  const callbacks = createCallbacks(keys)
  const issuer = new Openid4vciIssuer({ callbacks })
  const authorizationServer = new Oauth2AuthorizationServer({ callbacks })
  const resourceServer = new Oauth2ResourceServer({ callbacks })
  const publicOf = ({ d, ...rest }) => rest

  const binding = { proof_types_supported: { jwt: { proof_signing_alg_values_supported: ['ES256'] } }, credential_signing_alg_values_supported: ['ES256'] }
  const credentialIssuer = issuer.createCredentialIssuerMetadata({
    credential_issuer: base,
    credential_endpoint: `${base}/credential`,
    nonce_endpoint: `${base}/nonce`,
    notification_endpoint: `${base}/notification`,
    batch_credential_issuance: { batch_size: 5 },
    display: [{ name: 'Interop Test University', locale: 'en' }],
    credential_configurations_supported: {
      [SD_JWT_ID]: {
        format: 'dc+sd-jwt',
        vct: `${base}/vct/microcredential`,
        scope: 'interop_sd_jwt',
        cryptographic_binding_methods_supported: ['jwk'],
        ...binding,
        credential_metadata: {
          display: [{ name: 'Interop Microcredential', locale: 'en' }],
          claims: [{ path: ['given_name'] }, { path: ['family_name'] }, { path: ['achievement', 'name'], mandatory: true }, { path: ['result'] }],
        },
      },
      [OB3_ID]: {
        format: 'jwt_vc_json',
        scope: 'interop_ob3_jwt',
        credential_definition: { type: ['VerifiableCredential', 'OpenBadgeCredential'] },
        cryptographic_binding_methods_supported: ['did:jwk', 'jwk'],
        ...binding,
        credential_metadata: { display: [{ name: 'Interop Open Badge', locale: 'en' }] },
      },
    },
  })
  const authorizationServerMetadata = authorizationServer.createAuthorizationServerMetadata({
    issuer: base,
    token_endpoint: `${base}/token`,
    jwks_uri: `${base}/jwks`,
    grant_types_supported: [preAuthorizedCodeGrantIdentifier],
    'pre-authorized_grant_anonymous_access_supported': true,
    // RFC 9449: a token request with a DPoP proof gets a token bound to its key (oid4vc-ts checks the proofs).
    dpop_signing_alg_values_supported: ['ES256'],
  })
  const issuerMetadata = {
    credentialIssuer,
    authorizationServers: [authorizationServerMetadata],
    originalDraftVersion: 'V1',
    knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuer),
  }

  // ------------------------------------------------------------------ state (in memory)
  const offers = new Map() // offer id -> {object, code, txCode, expiresAt, used, layout, claims, issued: []}
  const nonces = new Map() // c_nonce -> expiresAt (ms)
  const notifications = new Map()
  const tsl = new StatusList(new Array(TSL_SIZE).fill(0), 2)
  const bsl = Buffer.alloc(BSL_BITS / 8)
  const usedTsl = new Set()
  const usedBsl = new Set()
  const freeIndex = (used, size) => {
    for (;;) {
      const index = crypto.randomInt(size)
      if (!used.has(index)) return used.add(index) && index
    }
  }

  async function createOffer(options = {}) {
    const id = randomToken(12)
    const code = randomToken(24)
    const txCode = options.tx_code === true ? String(crypto.randomInt(100000, 1000000)) : options.tx_code || undefined
    const ids = options.credential_configuration_ids ?? [SD_JWT_ID, OB3_ID]
    const grant = { 'pre-authorized_code': code, ...(txCode ? { tx_code: { input_mode: 'numeric', length: txCode.length } } : {}) }
    const { credentialOffer, credentialOfferObject } = await issuer.createCredentialOffer({
      issuerMetadata,
      credentialConfigurationIds: ids,
      grants: { [preAuthorizedCodeGrantIdentifier]: grant },
      credentialOfferUri: options.by_value ? undefined : `${base}/offers/${id}`,
    })
    offers.set(id, {
      id,
      object: credentialOfferObject,
      code,
      txCode,
      ids,
      expiresAt: Date.now() + 600_000,
      used: false,
      layout: options.layout ?? 'vcdm2.0',
      claims: options.claims ?? {},
      issued: [],
    })
    return { offer_uri: credentialOffer, offer_id: id, pre_authorized_code: code, tx_code: txCode ?? null }
  }

  // ------------------------------------------------------------------ credentials
  function sdJwtVc(offer, holderJwk) {
    const idx = freeIndex(usedTsl, TSL_SIZE)
    offer.issued.push({ format: 'dc+sd-jwt', idx })
    const claims = {
      given_name: 'Ada',
      family_name: 'Lovelace',
      achievement: { name: 'Interop Testing 101', description: 'Passed the interop exam.', criteria: 'Exam score at least 60%' },
      result: { grade: '8.5', passed: true },
      ...offer.claims,
    }
    const instance = new SDJwtVcInstance({ hasher: sha256, signer: rawSigner(issuerKey), signAlg: 'ES256', saltGenerator: () => randomToken(16) })
    const payload = {
      iss: base,
      iat: now(),
      exp: now() + 365 * 86400,
      vct: `${base}/vct/microcredential`,
      cnf: { jwk: holderJwk },
      status: { status_list: { idx, uri: `${base}/status/tsl` } },
      ...claims,
    }
    const frame = { _sd: Object.keys(claims), achievement: { _sd: ['name', 'description', 'criteria'] } }
    return instance.issue(payload, frame, { header: { kid: 'issuer-key-1' } })
  }

  function ob3Credential(offer, holderDid) {
    const index = freeIndex(usedBsl, BSL_BITS)
    offer.issued.push({ format: 'jwt_vc_json', index })
    const id = `urn:uuid:${crypto.randomUUID()}`
    const issuedAt = now() - 1 // one instant for validFrom / issuanceDate and nbf (two clock reads once straddled a second)
    const validFrom = new Date(issuedAt * 1000).toISOString().replace(/\.\d+Z$/, 'Z')
    const body = {
      id,
      type: ['VerifiableCredential', 'OpenBadgeCredential'],
      name: 'Interop Testing 101',
      issuer: { id: did, type: ['Profile'], name: 'Interop Test University' },
      credentialSubject: {
        id: holderDid,
        type: ['AchievementSubject'],
        achievement: {
          id: `${base}/achievements/interop-101`,
          type: ['Achievement'],
          name: 'Interop Testing 101',
          description: 'Passed the interop exam.',
          criteria: { narrative: 'Exam score at least 60%.' },
          ...(offer.claims.achievement ?? {}),
        },
      },
      credentialStatus: {
        id: `${base}/status/bsl#${index}`,
        type: 'BitstringStatusListEntry',
        statusPurpose: 'revocation',
        statusListIndex: String(index),
        statusListCredential: `${base}/status/bsl`,
      },
    }
    const claims = { iss: did, sub: holderDid, jti: id, nbf: issuedAt }
    const payload =
      offer.layout === 'vcdm1.1'
        ? { ...claims, vc: { '@context': [VC_V1_CONTEXT, OB3_CONTEXT], ...body, issuanceDate: validFrom } }
        : { '@context': [VC_V2_CONTEXT, OB3_CONTEXT], ...body, validFrom, ...claims }
    return signJws(issuerKey, { alg: 'ES256', typ: 'JWT', kid: `${did}#key-1` }, payload)
  }

  async function statusListTokens() {
    const { header, payload } = createHeaderAndPayload(
      tsl,
      { iss: base, sub: `${base}/status/tsl`, iat: now(), exp: now() + 3600, ttl: 60 },
      { alg: 'ES256', typ: 'statuslist+jwt', kid: 'issuer-key-1' },
    )
    return signJws(issuerKey, header, payload)
  }

  async function bitstringCredential() {
    const url = `${base}/status/bsl`
    const payload = {
      '@context': [VC_V2_CONTEXT],
      id: url,
      type: ['VerifiableCredential', 'BitstringStatusListCredential'],
      issuer: did,
      validFrom: new Date(Date.now() - 1000).toISOString().replace(/\.\d+Z$/, 'Z'),
      credentialSubject: { id: `${url}#list`, type: 'BitstringStatusList', statusPurpose: 'revocation', encodedList: `u${zlib.gzipSync(bsl).toString('base64url')}` },
      iss: did,
      iat: now(),
    }
    return signJws(issuerKey, { alg: 'ES256', typ: 'vc+jwt', kid: `${did}#key-1` }, payload)
  }

  // ------------------------------------------------------------------ endpoints
  async function token(request) {
    const form = request.form()
    const parsed = authorizationServer.parseAccessTokenRequest({ accessTokenRequest: form, request })
    if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) throw new Oauth2ServerErrorResponseError({ error: 'unsupported_grant_type' })
    const offer = [...offers.values()].find((o) => o.code === parsed.grant.preAuthorizedCode)
    if (!offer || offer.used) return protocolError('invalid_grant', 'unknown or used pre-authorized_code')
    const { dpop } = await authorizationServer.verifyPreAuthorizedCodeAccessTokenRequest({
      ...parsed,
      request,
      authorizationServerMetadata,
      expectedPreAuthorizedCode: offer.code,
      expectedTxCode: offer.txCode,
      preAuthorizedCodeExpiresAt: new Date(offer.expiresAt),
      dpop: { jwt: parsed.dpop?.jwt, allowedSigningAlgs: ['ES256'] },
    })
    offer.tokenType = dpop ? 'DPoP' : 'Bearer'
    offer.used = true // single use, checked and set without an await in between
    const response = await authorizationServer.createAccessTokenResponse({
      audience: base,
      authorizationServer: base,
      expiresInSeconds: 600,
      subject: offer.id,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: publicOf(tokenKey) },
      dpop: dpop ? { jwk: dpop.jwk } : undefined,
    })
    return json(response)
  }

  function nonce() {
    const cNonce = randomToken(24)
    nonces.set(cNonce, Date.now() + 300_000)
    return json(issuer.createNonceResponse({ cNonce, cNonceExpiresIn: 300 }))
  }

  /** jwt proof (OID4VCI 1.0 App. F.1): its c_nonce must be live; every proof of a batch carries the same one. */
  async function holderKeyOfProof(jwt) {
    const proofPayload = JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString() || '{}')
    const expires = nonces.get(proofPayload.nonce)
    if (!expires || expires < Date.now()) throw new Oauth2ServerErrorResponseError({ error: 'invalid_nonce', error_description: 'unknown, used or expired c_nonce' })
    const verified = await issuer.verifyCredentialRequestJwtProof({ issuerMetadata, jwt, expectedNonce: proofPayload.nonce })
    if (Math.abs(now() - verified.payload.iat) > PROOF_MAX_AGE) throw new Oauth2ServerErrorResponseError({ error: 'invalid_proof', error_description: 'stale iat' })
    const holder = { nonce: proofPayload.nonce }
    if (verified.signer.method === 'jwk') return { ...holder, jwk: verified.signer.publicJwk, did: didJwkFor(verified.signer.publicJwk) }
    if (verified.signer.method === 'did') return { ...holder, jwk: await resolveDidUrl(verified.signer.didUrl), did: verified.signer.didUrl.split('#')[0] }
    throw new Oauth2ServerErrorResponseError({ error: 'invalid_proof', error_description: 'proof key must be a jwk or DID URL kid' })
  }

  async function credential(request) {
    const { tokenPayload } = await resourceServer.verifyResourceRequest({
      request,
      resourceServer: base,
      authorizationServers: [authorizationServerMetadata],
    })
    const offer = offers.get(tokenPayload.sub)
    if (!offer) return protocolError('invalid_token', 'unknown grant', 401)
    const parsed = issuer.parseCredentialRequest({ issuerMetadata, credentialRequest: request.json() })
    const configurationId = parsed.credentialConfigurationId
    if (!configurationId || !offer.ids.includes(configurationId)) return protocolError('unknown_credential_configuration', String(configurationId))
    const proofs = parsed.proofs?.jwt
    if (!proofs?.length) return protocolError('invalid_proof', 'proofs.jwt is required')
    const holders = []
    for (const proof of proofs) holders.push(await holderKeyOfProof(proof))
    for (const holder of holders) nonces.delete(holder.nonce) // a c_nonce is used once, by one request
    const credentials = []
    for (const holder of holders) {
      credentials.push({ credential: configurationId === SD_JWT_ID ? await sdJwtVc(offer, holder.jwk) : await ob3Credential(offer, holder.did) })
    }
    const notificationId = randomToken(12)
    notifications.set(notificationId, { offer: offer.id, events: [] })
    return json(issuer.createCredentialResponse({ credentialRequest: parsed, credentials, notificationId }))
  }

  async function notification(request) {
    await resourceServer.verifyResourceRequest({ request, resourceServer: base, authorizationServers: [authorizationServerMetadata] })
    const body = request.json()
    const entry = notifications.get(body?.notification_id)
    if (!entry) return protocolError('invalid_notification_id', 'unknown notification_id')
    if (!['credential_accepted', 'credential_failure', 'credential_deleted'].includes(body.event)) return protocolError('invalid_notification_request', 'bad event')
    entry.events.push(body.event)
    return text('', 'text/plain', 204)
  }

  function setStatus(request) {
    const { offer_id: offerId, status } = request.json() ?? {}
    const offer = offers.get(offerId)
    const value = { valid: 0, revoked: 1, suspended: 2 }[status]
    if (!offer || value === undefined) throw new InteropError('invalid_request', 'need a known offer_id and status valid|revoked|suspended')
    for (const entry of offer.issued) {
      if (entry.format === 'dc+sd-jwt') tsl.setStatus(entry.idx, value)
      else if (value !== 2) bsl[entry.index >> 3] = value ? bsl[entry.index >> 3] | (0x80 >> entry.index % 8) : bsl[entry.index >> 3] & ~(0x80 >> entry.index % 8)
    }
    return json({ offer_id: offerId, status, credentials: offer.issued.length })
  }

  const didDocument = () => ({
    '@context': ['https://www.w3.org/ns/did/v1', 'https://w3id.org/security/jwk/v1'],
    id: did,
    verificationMethod: [{ id: `${did}#key-1`, type: 'JsonWebKey', controller: did, publicKeyJwk: publicOf(issuerKey) }],
    assertionMethod: [`${did}#key-1`],
  })

  const first = await createOffer({ tx_code: true })
  const routes = [
    ['GET', /^\/\.well-known\/openid-credential-issuer$/, () => json(credentialIssuer)],
    ['GET', /^\/\.well-known\/oauth-authorization-server$/, () => json(authorizationServerMetadata)],
    ['GET', /^\/jwks$/, () => json({ keys: [publicOf(tokenKey)] })],
    ['GET', /^\/\.well-known\/jwt-vc-issuer$/, () => json({ issuer: base, jwks: { keys: [publicOf(issuerKey)] } })],
    ['GET', /^\/\.well-known\/did\.json$/, () => json(didDocument())],
    ['GET', /^\/vct\/microcredential$/, () => json({ vct: `${base}/vct/microcredential`, name: 'Interop Microcredential', display: [{ locale: 'en', name: 'Interop Microcredential' }] })],
    ['POST', /^\/offers$/, async (request) => json(await createOffer(request.json() ?? {}), 201)],
    ['GET', /^\/offers\/([\w-]+)$/, (_, match) => (offers.has(match[1]) ? json(offers.get(match[1]).object) : protocolError('not_found', 'no such offer', 404))],
    ['POST', /^\/token$/, token],
    ['POST', /^\/nonce$/, nonce],
    ['POST', /^\/credential$/, credential],
    ['POST', /^\/notification$/, notification],
    ['GET', /^\/status\/tsl$/, async () => text(await statusListTokens(), 'application/statuslist+jwt')],
    ['GET', /^\/status\/bsl$/, async () => text(await bitstringCredential(), 'application/vc+jwt')],
    ['POST', /^\/admin\/status$/, setStatus],
    ['GET', /^\/admin\/notifications$/, () => json(Object.fromEntries(notifications))],
    ['GET', /^\/admin\/tokens$/, () => json(Object.fromEntries([...offers].filter(([, o]) => o.tokenType).map(([id, o]) => [id, o.tokenType])))],
  ]
  return { routes, ready: async () => ({ credential_issuer: base, did, ...first }) }
}

serve(process.argv.slice(2), setup).catch((error) => {
  process.stdout.write(`${JSON.stringify({ error: 'startup_failed', error_description: String(error?.message ?? error) })}\n`)
  process.exit(1)
})
