// A self-signed X.509 v3 certificate (RFC 5280) for a P-256 key, DER-encoded by hand: node's crypto
// parses certificates but cannot make them. Used by the verifier for `x509_hash:` / `x509_san_dns:`.

import crypto from 'node:crypto'

function length(n) {
  if (n < 0x80) return Buffer.from([n])
  const bytes = []
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff)
  return Buffer.from([0x80 | bytes.length, ...bytes])
}

const tlv = (tag, content) => Buffer.concat([Buffer.from([tag]), length(content.length), content])
const sequence = (...items) => tlv(0x30, Buffer.concat(items))
const set = (...items) => tlv(0x31, Buffer.concat(items))
const explicit = (n, content) => tlv(0xa0 + n, content)

function integer(value) {
  let bytes = Buffer.from(value)
  while (bytes.length > 1 && bytes[0] === 0 && !(bytes[1] & 0x80)) bytes = bytes.subarray(1)
  if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes])
  return tlv(0x02, bytes)
}

function oid(text) {
  const arcs = text.split('.').map(Number)
  const out = [40 * arcs[0] + arcs[1]]
  for (const arc of arcs.slice(2)) {
    const chunk = [arc & 0x7f]
    for (let v = arc >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f))
    out.push(...chunk)
  }
  return tlv(0x06, Buffer.from(out))
}

function utcTime(date) {
  const text = date.toISOString().replace(/[-:T]/g, '').slice(2, 14)
  return tlv(0x17, Buffer.from(`${text}Z`, 'ascii'))
}

const commonName = (cn) => sequence(set(sequence(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))))
const ECDSA_WITH_SHA256 = sequence(oid('1.2.840.10045.4.3.2'))

/**
 * Make a self-signed certificate for `privateJwk` (P-256) with subject CN `cn`, and SAN dNSName
 * entries `dnsNames`. Returns the base64 DER (as used in an `x5c` header).
 */
export function selfSignedCertificate(privateJwk, { cn = 'interop verifier', dnsNames = [], days = 30 } = {}) {
  const privateKey = crypto.createPrivateKey({ key: privateJwk, format: 'jwk' })
  const spki = crypto.createPublicKey(privateKey).export({ type: 'spki', format: 'der' })
  const now = new Date(Date.now() - 60_000)
  const extensions = [
    sequence(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, sequence())), // basicConstraints, critical, cA false
  ]
  if (dnsNames.length > 0) {
    const names = sequence(...dnsNames.map((name) => tlv(0x82, Buffer.from(name, 'ascii'))))
    extensions.push(sequence(oid('2.5.29.17'), tlv(0x04, names))) // subjectAltName
  }
  const tbs = sequence(
    explicit(0, integer(Buffer.from([2]))),
    integer(crypto.randomBytes(16)),
    ECDSA_WITH_SHA256,
    commonName(cn),
    sequence(utcTime(now), utcTime(new Date(now.getTime() + days * 86_400_000))),
    commonName(cn),
    spki,
    explicit(3, sequence(...extensions)),
  )
  const signature = crypto.sign('sha256', tbs, privateKey)
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])))
  return certificate.toString('base64')
}
