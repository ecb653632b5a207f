// Credential and presentation handling on sd-jwt-js and jose: verify an SD-JWT VC (issuer key from
// x5c / DID / jwt-vc-issuer, KB-JWT aud+nonce+iat+sd_hash, Token Status List), verify a VC-JWT
// (OB3 in the VCDM 2.0 layout or the VCDM 1.1 `vc` claim, Bitstring Status List), build and verify a
// VP JWT, and evaluate DCQL claims path pointers (OpenID4VP 1.0 § 6, § 7).

import crypto from 'node:crypto'
import zlib from 'node:zlib'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { getListFromStatusListJWT } from '@sd-jwt/jwt-status-list'
import { b64url, decodeJwt, InteropError, randomToken, safeFetch } from './common.mjs'
import { signJws, verifyJws } from './callbacks.mjs'
import { didJwkFor, publicJwk, resolveDidUrl, resolveIssuerJwk, resolveSdJwtVcIssuerJwk, sameKey } from './resolve.mjs'

export const VC_V1_CONTEXT = 'https://www.w3.org/2018/credentials/v1'
export const VC_V2_CONTEXT = 'https://www.w3.org/ns/credentials/v2'
const KB_MAX_AGE_SECONDS = 300
const SKEW_SECONDS = 60

const hasher = (data, alg = 'sha-256') =>
  new Uint8Array(crypto.createHash(alg.replace('-', '')).update(typeof data === 'string' ? data : Buffer.from(data)).digest())

export const nowSeconds = () => Math.floor(Date.now() / 1000)

export function rawSignature(data, signature, jwk) {
  const key = crypto.createPublicKey({ key: publicJwk(jwk), format: 'jwk' })
  const digest = jwk.kty === 'OKP' ? null : { 'P-384': 'sha384', 'P-521': 'sha512' }[jwk.crv] ?? 'sha256'
  return crypto.verify(digest, Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))
}

export function rawSigner(privateJwk) {
  const key = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' })
  return (data) => crypto.sign('sha256', Buffer.from(data), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')
}

// ---------------------------------------------------------------- status lists

async function fetchText(url, accept) {
  const response = await safeFetch(url, { headers: { Accept: accept } })
  if (!response.ok) throw new InteropError('status_unavailable', `${url} answered ${response.status}`)
  return (await response.text()).trim()
}

/** W3C Bitstring Status List § 3.2: GZIP'd bitstring, multibase base64url, index 0 = the leftmost bit. */
export async function checkBitstringStatus(entry) {
  const url = entry.statusListCredential
  const text = await fetchText(url, 'application/vc+jwt, application/vc+ld+json, application/jwt, application/json')
  let credential
  if (/^[\w-]+\.[\w-]+\.[\w-]+$/.test(text)) {
    const { header, payload } = decodeJwt(text)
    await verifyJws(text, (await resolveIssuerJwk(header, payload)).jwk)
    credential = payload.vc ?? payload
  } else {
    credential = JSON.parse(text) // a JSON credential with an embedded proof: signature not checked here
  }
  const encoded = credential.credentialSubject?.encodedList
  if (typeof encoded !== 'string' || !encoded.startsWith('u')) throw new InteropError('status_invalid', 'no multibase encodedList')
  const bits = zlib.gunzipSync(Buffer.from(encoded.slice(1), 'base64url'))
  const index = Number.parseInt(entry.statusListIndex, 10)
  if (!Number.isInteger(index) || index < 0 || index >= bits.length * 8) throw new InteropError('status_invalid', 'index out of range')
  const set = (bits[index >> 3] >> (7 - (index % 8))) & 1
  const purpose = entry.statusPurpose ?? credential.credentialSubject?.statusPurpose
  return { value: set, state: set ? (purpose === 'suspension' ? 'suspended' : 'revoked') : 'valid', purpose }
}

// ---------------------------------------------------------------- SD-JWT VC

/**
 * Verify an SD-JWT VC (optionally with KB-JWT). `kb = {nonce, aud}` requires and checks a KB-JWT;
 * `holderJwk` requires `cnf.jwk` to be that key. Returns the disclosed claims and named checks.
 */
export async function verifySdJwtVc(sdJwt, { kb = undefined, holderJwk = undefined } = {}) {
  const issuerJwt = sdJwt.split('~')[0]
  const { header, payload } = decodeJwt(issuerJwt)
  const checks = {}
  if (header.typ !== 'dc+sd-jwt') throw new InteropError('invalid_credential', `SD-JWT VC typ is ${header.typ}, not dc+sd-jwt`)
  checks.typ = 'dc+sd-jwt'
  const { jwk: issuerJwk, source } = await resolveSdJwtVcIssuerJwk(header, payload)
  checks.issuer_key = source
  let status
  const instance = new SDJwtVcInstance({
    hasher,
    verifier: (data, signature) => rawSignature(data, signature, issuerJwk),
    kbVerifier: (data, signature, claims) => {
      if (!claims.cnf?.jwk) throw new InteropError('invalid_presentation', 'no cnf.jwk to verify the KB-JWT with')
      return rawSignature(data, signature, claims.cnf.jwk)
    },
    // Token Status List § 8.3, through our fetch and key resolution; the verdict is ours (below).
    statusListFetcher: async (uri) => {
      const token = await fetchText(uri, 'application/statuslist+jwt')
      const { header: slHeader, payload: slPayload } = decodeJwt(token)
      if (slHeader.typ !== 'statuslist+jwt') throw new InteropError('status_invalid', `status list typ is ${slHeader.typ}`)
      if (slPayload.sub !== uri) throw new InteropError('status_invalid', `status list sub ${slPayload.sub} is not ${uri}`)
      return token
    },
    statusVerifier: async (data, signature) => {
      const [h, p] = data.split('.')
      const slHeader = b64url.json(h)
      const slPayload = b64url.json(p)
      let jwk = issuerJwk
      if (slHeader.x5c || slHeader.kid?.startsWith('did:') || slPayload.iss) jwk = (await resolveIssuerJwk(slHeader, slPayload)).jwk
      return rawSignature(data, signature, jwk)
    },
    statusValidator: async (value) => {
      status = { value, state: ['valid', 'invalid', 'suspended'][value] ?? `status_${value}` }
    },
  })
  const result = await instance.verify(sdJwt, { keyBindingNonce: kb?.nonce, skewSeconds: SKEW_SECONDS }).catch((error) => {
    throw new InteropError(error instanceof InteropError ? error.error : 'invalid_credential', `sd-jwt-js: ${error.message}`)
  })
  checks.signature = 'ok'
  const claims = result.payload
  if (typeof claims.vct !== 'string') throw new InteropError('invalid_credential', 'no vct')
  if (holderJwk) {
    if (!sameKey(claims.cnf?.jwk, holderJwk)) throw new InteropError('invalid_credential', 'cnf.jwk is not the holder key')
    checks.holder_binding = 'cnf.jwk'
  }
  if (kb) {
    const kbPayload = result.kb?.payload
    if (!kbPayload) throw new InteropError('invalid_presentation', 'KB-JWT missing')
    if (kbPayload.aud !== kb.aud) throw new InteropError('invalid_presentation', `KB-JWT aud ${kbPayload.aud} is not ${kb.aud}`)
    const age = nowSeconds() - kbPayload.iat
    if (age > KB_MAX_AGE_SECONDS || age < -SKEW_SECONDS) throw new InteropError('invalid_presentation', 'KB-JWT iat out of window')
    checks.key_binding = 'ok'
  }
  if (status) {
    checks.status = status.state
    if (status.value === 1) throw new InteropError('credential_revoked', 'the status list marks it revoked', { checks })
    if (status.value !== 0) throw new InteropError('credential_suspended', `the status list marks it ${status.state}`, { checks })
  }
  return { header, claims, kb: result.kb?.payload, checks, issuer: payload.iss }
}

/** Every disclosable key path of an SD-JWT (sd-jwt-js dot notation, e.g. `achievement.name`). */
export async function presentableKeys(sdJwt) {
  return new SDJwtVcInstance({ hasher }).presentableKeys(sdJwt)
}

export async function sdJwtClaims(sdJwt) {
  return new SDJwtVcInstance({ hasher }).getClaims(sdJwt)
}

/**
 * Present an SD-JWT with the disclosures for `paths` (claims path pointers) and a KB-JWT for
 * `{aud, nonce}` signed by `holderPrivateJwk`. An empty `paths` discloses nothing selectively disclosable.
 */
export async function presentSdJwt(sdJwt, paths, holderPrivateJwk, { aud, nonce, iat = nowSeconds() }) {
  const claims = await sdJwtClaims(sdJwt)
  const available = await presentableKeys(sdJwt)
  const wanted = new Set()
  for (const path of paths) {
    for (const concrete of expandPath(claims, path)) {
      const dotted = concrete.join('.')
      for (const key of available) {
        if (key === dotted || key.startsWith(`${dotted}.`) || dotted.startsWith(`${key}.`)) wanted.add(key)
      }
    }
  }
  const frame = {}
  for (const key of wanted) {
    let node = frame
    const parts = key.split('.')
    parts.forEach((part, i) => {
      if (i === parts.length - 1) node[part] = node[part] === undefined ? true : node[part]
      else {
        if (typeof node[part] !== 'object') node[part] = {}
        node = node[part]
      }
    })
  }
  const instance = new SDJwtVcInstance({ hasher, kbSigner: rawSigner(holderPrivateJwk), kbSignAlg: 'ES256' })
  const presentation = await instance.present(sdJwt, frame, { kb: { payload: { aud, nonce, iat } } })
  return { presentation, disclosed: [...wanted].sort() }
}

// ---------------------------------------------------------------- VC-JWT and VP JWT

function credentialOf(payload) {
  return payload.vc && typeof payload.vc === 'object' ? { layout: 'vcdm1.1', credential: payload.vc } : { layout: 'vcdm2.0', credential: payload }
}

async function holderKeyOf(holder) {
  if (typeof holder !== 'string' || !holder.startsWith('did:')) throw new InteropError('invalid_credential', 'no holder DID')
  return resolveDidUrl(holder)
}

/** Verify a VC-JWT (`jwt_vc_json`): signature by the issuer's key, layout/context agreement, dates, status. */
export async function verifyVcJwt(jwt, { holderJwk = undefined, checkStatus = true } = {}) {
  const { header, payload } = decodeJwt(jwt)
  const checks = {}
  if (header.typ !== undefined && !['JWT', 'vc+jwt', 'vc+ld+json+jwt'].includes(header.typ)) {
    throw new InteropError('invalid_credential', `VC-JWT typ ${header.typ}`)
  }
  const { jwk, source } = await resolveIssuerJwk(header, payload)
  checks.issuer_key = source
  await verifyJws(jwt, jwk).catch((error) => {
    throw new InteropError('invalid_credential', `VC-JWT signature: ${error.message}`)
  })
  checks.signature = 'ok'
  const { layout, credential } = credentialOf(payload)
  const first = credential['@context']?.[0]
  if ((layout === 'vcdm1.1' && first !== VC_V1_CONTEXT) || (layout === 'vcdm2.0' && first !== VC_V2_CONTEXT)) {
    throw new InteropError('invalid_credential', `layout ${layout} with first @context ${first}`)
  }
  checks.layout = layout
  const types = [credential.type].flat()
  if (!types.includes('VerifiableCredential')) throw new InteropError('invalid_credential', 'type lacks VerifiableCredential')
  const issuerId = typeof credential.issuer === 'string' ? credential.issuer : credential.issuer?.id
  if (payload.iss && issuerId && payload.iss !== issuerId) throw new InteropError('invalid_credential', 'iss is not issuer.id')
  const now = nowSeconds()
  const from = payload.nbf ?? Date.parse(credential.validFrom ?? credential.issuanceDate ?? 0) / 1000
  const until = payload.exp ?? (credential.validUntil ?? credential.expirationDate ? Date.parse(credential.validUntil ?? credential.expirationDate) / 1000 : undefined)
  if (from && from - SKEW_SECONDS > now) throw new InteropError('invalid_credential', 'not yet valid')
  if (until && until + SKEW_SECONDS < now) throw new InteropError('invalid_credential', 'expired')
  checks.validity = 'ok'
  const subject = [credential.credentialSubject].flat()[0] ?? {}
  const holder = subject.id ?? payload.sub
  if (holderJwk) {
    if (!sameKey(await holderKeyOf(holder), holderJwk)) throw new InteropError('invalid_credential', 'subject DID is not the holder key')
    checks.holder_binding = holder.split(':').slice(0, 2).join(':')
  }
  const statusEntries = [credential.credentialStatus ?? []].flat()
  if (checkStatus) {
    for (const entry of statusEntries.filter((e) => e.type === 'BitstringStatusListEntry')) {
      const status = await checkBitstringStatus(entry)
      checks[`status_${status.purpose ?? 'revocation'}`] = status.state
      if (status.value) throw new InteropError(status.state === 'suspended' ? 'credential_suspended' : 'credential_revoked', `status ${status.state}`, { checks })
    }
  }
  return { header, payload, credential, types, issuer: issuerId ?? payload.iss, holder, checks }
}

/** A VP JWT (OpenID4VP 1.0 App. B.1.3.1: `iss` holder DID, `aud` client id, `nonce`, `vp`). */
export async function createVpJwt(vcJwts, holderPrivateJwk, { aud, nonce }) {
  const firstVc = decodeJwt(vcJwts[0]).payload
  const subject = [credentialOf(firstVc).credential.credentialSubject].flat()[0] ?? {}
  let holder = subject.id ?? firstVc.sub
  if (typeof holder !== 'string' || !holder.startsWith('did:') || !sameKey(await resolveDidUrl(holder).catch(() => undefined), holderPrivateJwk)) {
    holder = didJwkFor(holderPrivateJwk)
  }
  const kid = holder.startsWith('did:key:') ? `${holder}#${holder.slice('did:key:'.length)}` : `${holder}#0`
  const iat = nowSeconds()
  const payload = {
    iss: holder,
    aud,
    nonce,
    iat,
    nbf: iat,
    exp: iat + 300,
    jti: `urn:uuid:${crypto.randomUUID()}`,
    vp: { '@context': [VC_V1_CONTEXT], type: ['VerifiablePresentation'], holder, verifiableCredential: vcJwts },
  }
  return signJws(holderPrivateJwk, { alg: 'ES256', typ: 'JWT', kid }, payload)
}

/** Verify a VP JWT and the VC-JWTs inside it; the VP signer must be each credential's subject. */
export async function verifyVpJwt(vpJwt, { aud, nonce, checkStatus = true }) {
  const { header, payload } = decodeJwt(vpJwt)
  const holder = payload.iss ?? payload.vp?.holder
  const holderKid = header.kid?.startsWith('did:') ? header.kid : holder
  const holderJwk = await resolveDidUrl(holderKid)
  await verifyJws(vpJwt, holderJwk).catch((error) => {
    throw new InteropError('invalid_presentation', `VP signature: ${error.message}`)
  })
  const checks = { vp_signature: 'ok' }
  if ([payload.aud].flat()[0] !== aud && !(Array.isArray(payload.aud) && payload.aud.includes(aud))) {
    throw new InteropError('invalid_presentation', `VP aud ${payload.aud} is not ${aud}`)
  }
  if (payload.nonce !== nonce) throw new InteropError('invalid_presentation', 'VP nonce mismatch')
  const now = nowSeconds()
  if (payload.exp && payload.exp + SKEW_SECONDS < now) throw new InteropError('invalid_presentation', 'VP expired')
  if (payload.iat && (now - payload.iat > KB_MAX_AGE_SECONDS || payload.iat - SKEW_SECONDS > now)) {
    throw new InteropError('invalid_presentation', 'VP iat out of window')
  }
  checks.vp_binding = 'aud+nonce'
  const credentials = []
  for (const vc of [payload.vp?.verifiableCredential ?? []].flat()) {
    if (typeof vc !== 'string') throw new InteropError('invalid_presentation', 'embedded credential is not a VC-JWT')
    credentials.push(await verifyVcJwt(vc, { holderJwk, checkStatus }))
  }
  if (credentials.length === 0) throw new InteropError('invalid_presentation', 'no credential in the VP')
  return { holder, credentials, checks }
}

// ---------------------------------------------------------------- DCQL (OpenID4VP 1.0 § 6, § 7)

/** Concrete paths selected by a claims path pointer (strings, indices, null = every element). */
export function expandPath(claims, path) {
  let current = [[[], claims]]
  for (const step of path) {
    const next = []
    for (const [at, value] of current) {
      if (step === null) {
        if (Array.isArray(value)) value.forEach((v, i) => next.push([[...at, i], v]))
      } else if (typeof step === 'number') {
        if (Array.isArray(value) && step < value.length) next.push([[...at, step], value[step]])
      } else if (value && typeof value === 'object' && !Array.isArray(value) && step in value) {
        next.push([[...at, step], value[step]])
      }
    }
    current = next
  }
  return current.map(([at]) => at)
}

export function selectValues(claims, path) {
  return expandPath(claims, path).map((at) => at.reduce((value, step) => value[step], claims))
}

/** The claim queries of `query` that `claims` satisfy, or undefined (honours `claim_sets`). */
export function satisfiedClaims(query, claims) {
  const claimQueries = query.claims ?? []
  const ok = (claim) => {
    const values = selectValues(claims, claim.path)
    return values.length > 0 && (!claim.values || values.some((v) => claim.values.includes(v)))
  }
  if (!query.claim_sets) return claimQueries.every(ok) ? claimQueries : undefined
  for (const set of query.claim_sets) {
    const chosen = set.map((id) => claimQueries.find((c) => c.id === id))
    if (chosen.every((c) => c && ok(c))) return chosen
  }
  return undefined
}

function typeMatches(alternative, types) {
  return alternative.every((wanted) => types.some((t) => t === wanted || wanted.endsWith(`#${t}`) || wanted.endsWith(`/${t}`)))
}

/** Does a credential `{format, vct, types, claims}` answer DCQL credential query `query`? */
export function matchesQuery(query, credential) {
  if (query.format !== credential.format) return false
  const meta = query.meta ?? {}
  if (credential.format === 'dc+sd-jwt' && meta.vct_values && !meta.vct_values.includes(credential.vct)) return false
  if (credential.format === 'jwt_vc_json' && meta.type_values && !meta.type_values.some((alt) => typeMatches(alt, credential.types))) {
    return false
  }
  return satisfiedClaims(query, credential.claims) !== undefined
}

export { b64url, randomToken }
