// The oid4vc-ts CallbackContext (hash, random, JWS sign/verify, JWE encrypt/decrypt, fetch) on node's
// `crypto` and `jose`. Private keys live in a KeyStore, looked up by JWK thumbprint or kid.

import crypto from 'node:crypto'
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'
import * as jose from 'jose'
import { b64url, InteropError, safeFetch } from './common.mjs'
import { jwkThumbprint, publicJwk, resolveDidUrl, x5cLeafJwk, x509CertificateMetadata } from './resolve.mjs'

export const SIGNING_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'PS256']
const HASHES = { 'sha-256': 'sha256', 'sha-384': 'sha384', 'sha-512': 'sha512' }

export class KeyStore {
  constructor() {
    this.byThumbprint = new Map()
    this.byKid = new Map()
  }

  add(privateJwk, kid = undefined) {
    this.byThumbprint.set(jwkThumbprint(privateJwk), privateJwk)
    if (kid) this.byKid.set(kid, privateJwk)
    if (privateJwk.kid) this.byKid.set(privateJwk.kid, privateJwk)
    return privateJwk
  }

  find({ jwk, kid } = {}) {
    if (jwk) {
      const found = this.byThumbprint.get(jwkThumbprint(jwk))
      if (found) return found
    }
    if (kid && this.byKid.has(kid)) return this.byKid.get(kid)
    throw new InteropError('no_key', `no private key for ${kid ?? (jwk ? jwkThumbprint(jwk) : 'the signer')}`)
  }
}

/** A fresh P-256 key pair as `{privateJwk, publicJwk}`. */
export async function generateEcKey(kid = undefined) {
  const { privateKey } = await jose.generateKeyPair('ES256', { extractable: true })
  const privateJwk = { ...(await jose.exportJWK(privateKey)), ...(kid ? { kid } : {}) }
  return { privateJwk, publicJwk: publicJwk(privateJwk) }
}

export function algForJwk(jwk) {
  if (jwk.kty === 'EC') return { 'P-256': 'ES256', 'P-384': 'ES384', 'P-521': 'ES512' }[jwk.crv]
  if (jwk.kty === 'OKP') return 'EdDSA'
  return 'RS256'
}

/** Sign `{header, payload}` as a compact JWS with a private JWK. */
export async function signJws(privateJwk, header, payload) {
  const alg = header.alg ?? algForJwk(privateJwk)
  const key = await jose.importJWK(privateJwk, alg)
  const body = typeof payload === 'string' ? new TextEncoder().encode(payload) : new TextEncoder().encode(JSON.stringify(payload))
  return new jose.CompactSign(body).setProtectedHeader({ ...header, alg }).sign(key)
}

/** Verify a compact JWS against a public JWK; refuses `none` and symmetric algorithms. */
export async function verifyJws(compact, jwk, algorithms = SIGNING_ALGORITHMS) {
  const header = b64url.json(String(compact).split('.')[0])
  if (!algorithms.includes(header.alg)) throw new InteropError('invalid_signature', `algorithm ${header.alg} not allowed`)
  const key = await jose.importJWK(publicJwk(jwk), header.alg)
  const { payload, protectedHeader } = await jose.compactVerify(compact, key, { algorithms })
  return { header: protectedHeader, payload: JSON.parse(new TextDecoder().decode(payload)) }
}

async function signerPublicJwk(signer) {
  if (signer.method === 'jwk') return signer.publicJwk
  if (signer.method === 'x5c') return x5cLeafJwk(signer.x5c)
  if (signer.method === 'did') return resolveDidUrl(signer.didUrl)
  throw new InteropError('unsupported_signer', `signer method ${signer.method} is not supported here`)
}

/** Build the oid4vc-ts callbacks over `keys`. */
export function createCallbacks(keys, { trustX5c = () => true } = {}) {
  return {
    fetch: safeFetch,
    clientAuthentication: clientAuthenticationAnonymous(),
    getX509CertificateMetadata: x509CertificateMetadata,
    hash: (data, alg) => new Uint8Array(crypto.createHash(HASHES[alg] ?? 'sha256').update(data).digest()),
    generateRandom: (length) => new Uint8Array(crypto.randomBytes(length)),
    signJwt: async (signer, { header, payload }) => {
      let privateJwk
      if (signer.method === 'jwk') privateJwk = keys.find({ jwk: signer.publicJwk, kid: signer.kid })
      else if (signer.method === 'x5c') privateJwk = keys.find({ jwk: x5cLeafJwk(signer.x5c), kid: signer.kid })
      else if (signer.method === 'did') privateJwk = keys.find({ kid: signer.didUrl })
      else privateJwk = keys.find({ kid: signer.kid })
      const jwt = await signJws(privateJwk, { ...header, alg: signer.alg }, payload)
      return { jwt, signerJwk: publicJwk(privateJwk) }
    },
    verifyJwt: async (signer, { compact }) => {
      try {
        if (signer.method === 'x5c' && !trustX5c(signer.x5c)) return { verified: false }
        const jwk = await signerPublicJwk(signer)
        await verifyJws(compact, jwk)
        return { verified: true, signerJwk: publicJwk(jwk) }
      } catch {
        return { verified: false }
      }
    },
    encryptJwe: async (encryptor, data) => {
      const key = await jose.importJWK(encryptor.publicJwk, encryptor.alg)
      const header = { alg: encryptor.alg, enc: encryptor.enc }
      if (encryptor.publicJwk.kid) header.kid = encryptor.publicJwk.kid
      const jwe = new jose.CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader(header)
      const parameters = {}
      if (encryptor.apu) parameters.apu = b64url.decode(encryptor.apu)
      if (encryptor.apv) parameters.apv = b64url.decode(encryptor.apv)
      if (Object.keys(parameters).length) jwe.setKeyManagementParameters(parameters)
      return { jwe: await jwe.encrypt(key), encryptionJwk: encryptor.publicJwk }
    },
    decryptJwe: async (jwe, options = {}) => {
      try {
        const header = jose.decodeProtectedHeader(jwe)
        const privateJwk = keys.find({ jwk: options.jwk, kid: header.kid })
        const key = await jose.importJWK(privateJwk, header.alg)
        const { plaintext } = await jose.compactDecrypt(jwe, key)
        return { decrypted: true, decryptionJwk: publicJwk(privateJwk), payload: new TextDecoder().decode(plaintext) }
      } catch {
        return { decrypted: false }
      }
    },
  }
}
