// Key resolution for the interop programs: did:jwk, did:key (P-256, Ed25519), did:web (http only for
// loopback hosts), SD-JWT VC issuer metadata (`/.well-known/jwt-vc-issuer`) and x5c leaf certificates.

import crypto from 'node:crypto'
import { b64url, fetchJson, InteropError, isLoopbackHost } from './common.mjs'

const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function base58Decode(text) {
  let value = 0n
  for (const char of text) {
    const digit = BASE58.indexOf(char)
    if (digit < 0) throw new InteropError('invalid_did', 'bad base58 character')
    value = value * 58n + BigInt(digit)
  }
  const bytes = []
  while (value > 0n) {
    bytes.unshift(Number(value % 256n))
    value /= 256n
  }
  for (const char of text) {
    if (char !== '1') break
    bytes.unshift(0)
  }
  return Buffer.from(bytes)
}

export function publicJwk(jwk) {
  const { d, p, q, dp, dq, qi, key_ops, ext, ...rest } = jwk
  return rest
}

export function jwkThumbprint(jwk) {
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : jwk.kty === 'OKP'
        ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x }
        : { e: jwk.e, kty: jwk.kty, n: jwk.n }
  return crypto.createHash('sha256').update(JSON.stringify(members)).digest('base64url')
}

export function sameKey(a, b) {
  return Boolean(a && b) && jwkThumbprint(a) === jwkThumbprint(b)
}

export function didJwkFor(jwk) {
  const { kid, alg, use, ...members } = publicJwk(jwk)
  return `did:jwk:${b64url.encode(JSON.stringify(members))}`
}

function didKeyToJwk(identifier) {
  if (!identifier.startsWith('z')) throw new InteropError('invalid_did', 'did:key must be base58btc multibase')
  const bytes = base58Decode(identifier.slice(1))
  if (bytes[0] === 0xed && bytes[1] === 0x01) {
    return { kty: 'OKP', crv: 'Ed25519', x: bytes.subarray(2).toString('base64url') }
  }
  if (bytes[0] === 0x80 && bytes[1] === 0x24) {
    const point = crypto.ECDH.convertKey(bytes.subarray(2), 'prime256v1', undefined, undefined, 'uncompressed')
    return {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33, 65).toString('base64url'),
    }
  }
  throw new InteropError('invalid_did', 'unsupported did:key multicodec')
}

/** URL of a did:web document (did-method-web § Read); http only for loopback hosts. */
export function didWebUrl(did) {
  const segments = did.slice('did:web:'.length).split(':').map(decodeURIComponent)
  const host = segments[0]
  const hostname = host.replace(/:\d+$/, '')
  const scheme = isLoopbackHost(hostname) ? 'http' : 'https'
  const path = segments.length > 1 ? segments.slice(1).join('/') : '.well-known'
  return `${scheme}://${host}/${path}/did.json`
}

/** Resolve a DID URL (`did:...#fragment`) or DID to a public JWK. */
export async function resolveDidUrl(didUrl) {
  const [did, fragment] = didUrl.split('#')
  if (did.startsWith('did:jwk:')) return publicJwk(b64url.json(did.slice('did:jwk:'.length)))
  if (did.startsWith('did:key:')) return didKeyToJwk(did.slice('did:key:'.length))
  if (!did.startsWith('did:web:')) throw new InteropError('invalid_did', `unsupported DID method in ${did}`)
  const document = await fetchJson(didWebUrl(did), { headers: { Accept: 'application/did+json, application/json' } })
  if (document.id !== did) throw new InteropError('invalid_did', `DID document id ${document.id} is not ${did}`)
  const methods = (document.verificationMethod ?? []).filter((method) => method.publicKeyJwk)
  const wanted = fragment === undefined ? undefined : `${did}#${fragment}`
  const method = methods.find((m) => m.id === wanted || m.id === `#${fragment}`) ?? (wanted ? undefined : methods[0])
  if (!method) throw new InteropError('invalid_did', `no verification method ${didUrl}`)
  return publicJwk(method.publicKeyJwk)
}

/** SD-JWT VC § 5: the issuer's JWKS from `/.well-known/jwt-vc-issuer` inserted before the path of `iss`. */
export async function resolveJwtVcIssuerKey(iss, kid) {
  const url = new URL(iss)
  const path = url.pathname === '/' ? '' : url.pathname
  const metadata = await fetchJson(`${url.origin}/.well-known/jwt-vc-issuer${path}`)
  if (metadata.issuer !== iss) throw new InteropError('invalid_issuer', `jwt-vc-issuer metadata names ${metadata.issuer}`)
  const jwks = metadata.jwks ?? (metadata.jwks_uri ? await fetchJson(metadata.jwks_uri) : undefined)
  const keys = jwks?.keys ?? []
  const key = kid ? keys.find((k) => k.kid === kid) : keys.length === 1 ? keys[0] : undefined
  if (!key) throw new InteropError('invalid_issuer', `no key ${kid ?? '(no kid)'} in the issuer's jwt-vc-issuer JWKS`)
  return publicJwk(key)
}

export function x5cLeafJwk(x5c) {
  const certificate = new crypto.X509Certificate(Buffer.from(x5c[0], 'base64'))
  return certificate.publicKey.export({ format: 'jwk' })
}

/** The SAN dNSName and URI entries of a base64 DER certificate (for oid4vc-ts's x509_san_dns check). */
export function x509CertificateMetadata(certificateB64) {
  const certificate = new crypto.X509Certificate(Buffer.from(certificateB64, 'base64'))
  const names = (certificate.subjectAltName ?? '').split(/,\s*/).filter(Boolean)
  return {
    sanDnsNames: names.filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4)),
    sanUriNames: names.filter((n) => n.startsWith('URI:')).map((n) => n.slice(4)),
  }
}

/**
 * The key of a credential issuer's JWT: x5c leaf, DID URL kid (did:web/did:jwk/did:key) or, for an
 * https(/loopback http) `iss`, its jwt-vc-issuer metadata. Returns `{jwk, source}`.
 */
export async function resolveIssuerJwk(header, payload) {
  if (Array.isArray(header.x5c) && header.x5c.length > 0) return { jwk: x5cLeafJwk(header.x5c), source: 'x5c' }
  const kid = header.kid
  if (typeof kid === 'string' && kid.startsWith('did:')) return { jwk: await resolveDidUrl(kid), source: kid.split(':').slice(0, 2).join(':') }
  const iss = typeof payload.iss === 'string' ? payload.iss : typeof payload.issuer === 'string' ? payload.issuer : payload.issuer?.id
  if (typeof iss === 'string' && iss.startsWith('did:')) {
    return { jwk: await resolveDidUrl(kid?.startsWith('#') ? `${iss}${kid}` : iss), source: iss.split(':').slice(0, 2).join(':') }
  }
  if (typeof iss === 'string' && /^https?:\/\//.test(iss)) return { jwk: await resolveJwtVcIssuerKey(iss, kid), source: 'jwt-vc-issuer' }
  throw new InteropError('invalid_issuer', 'cannot find the issuer key (no x5c, DID kid or URL iss)')
}

/**
 * SD-JWT VC issuer key (draft-ietf-oauth-sd-jwt-vc § 3.5): the `x5c` leaf, or for an https `iss` the
 * key named by `kid` in its JWT VC Issuer Metadata. A DID `iss` (pre-1.0 drafts) is still resolved,
 * and reported as such.
 */
export async function resolveSdJwtVcIssuerJwk(header, payload) {
  if (Array.isArray(header.x5c) && header.x5c.length > 0) return { jwk: x5cLeafJwk(header.x5c), source: 'x5c' }
  if (typeof payload.iss === 'string' && /^https?:\/\//.test(payload.iss)) {
    return { jwk: await resolveJwtVcIssuerKey(payload.iss, header.kid), source: 'jwt-vc-issuer' }
  }
  return resolveIssuerJwk(header, payload)
}
