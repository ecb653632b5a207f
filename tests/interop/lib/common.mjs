// Shared plumbing for the interop programs: argument parsing, one-JSON-document output,
// and the one door for outbound HTTP (https anywhere, plain http only to loopback hosts).
//
// The programs drive the OpenWallet Foundation's oid4vc-ts (@openid4vc/*) and sd-jwt-js (@sd-jwt/*);
// nothing here imports eduwallet code, so they are an implementation independent of ours.

import { Buffer } from 'node:buffer'
import crypto from 'node:crypto'
import { setGlobalConfig } from '@openid4vc/utils'

// oid4vc-ts refuses http:// URLs unless this is set; `safeFetch` below narrows it to loopback hosts.
setGlobalConfig({ allowInsecureUrls: true })

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

export function isLoopbackHost(hostname) {
  return LOOPBACK.has(hostname) || hostname.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(hostname)
}

/** Throw unless `url` is https, or http to a loopback host. */
export function checkUrl(url) {
  const parsed = new URL(url)
  if (parsed.protocol === 'https:') return parsed
  if (parsed.protocol === 'http:' && isLoopbackHost(parsed.hostname)) return parsed
  throw new InteropError('invalid_request', `refusing to fetch ${url}: https required (plain http only to loopback)`)
}

/** fetch with a URL policy, a time limit, and no redirects (OpenID4VP 1.0 errata: do not follow 3xx). */
export async function safeFetch(input, init = {}) {
  const url = typeof input === 'string' ? input : input instanceof URL ? input.toString() : input.url
  checkUrl(url)
  const response = await fetch(url, { ...init, redirect: 'manual', signal: AbortSignal.timeout(15_000) })
  if (response.status >= 300 && response.status < 400) {
    throw new InteropError('invalid_response', `${url} answered with a redirect (${response.status}); not followed`)
  }
  return response
}

export async function fetchJson(url, init = {}) {
  const response = await safeFetch(url, { ...init, headers: { Accept: 'application/json', ...(init.headers ?? {}) } })
  const text = await response.text()
  if (!response.ok) throw new InteropError('fetch_failed', `${url} answered ${response.status}`, { body: text })
  try {
    return JSON.parse(text)
  } catch {
    throw new InteropError('fetch_failed', `${url} did not answer JSON`, { body: text.slice(0, 500) })
  }
}

export class InteropError extends Error {
  constructor(error, description, details = undefined) {
    super(description)
    this.error = error
    this.details = details
  }
}

export const b64url = {
  encode: (data) => Buffer.from(typeof data === 'string' ? Buffer.from(data, 'utf8') : data).toString('base64url'),
  decode: (text) => Buffer.from(text, 'base64url'),
  json: (text) => JSON.parse(Buffer.from(text, 'base64url').toString('utf8')),
}

export function randomToken(bytes = 16) {
  return crypto.randomBytes(bytes).toString('base64url')
}

/** Decode a compact JWT without verifying it. */
export function decodeJwt(jwt) {
  const parts = String(jwt).split('.')
  if (parts.length !== 3) throw new InteropError('invalid_token', 'not a compact JWS')
  return { header: b64url.json(parts[0]), payload: b64url.json(parts[1]) }
}

/**
 * Parse argv against a spec `{positional: ['name', ...], options: {'--flag': 'string'|'int'|'bool'|'list'}}`.
 * Values of the form `@file` are read from a file, `-` from stdin.
 */
export async function parseArgs(argv, spec) {
  const out = { _: [] }
  for (const [flag, kind] of Object.entries(spec.options ?? {})) {
    const key = flag.replace(/^--/, '').replaceAll('-', '_')
    out[key] = kind === 'list' ? [] : kind === 'bool' ? false : undefined
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const kind = spec.options?.[arg]
    if (!arg.startsWith('--') || arg === '-') {
      out._.push(arg)
      continue
    }
    if (!kind) throw new InteropError('usage', `unknown option ${arg}`)
    const key = arg.replace(/^--/, '').replaceAll('-', '_')
    if (kind === 'bool') {
      out[key] = true
      continue
    }
    if (i + 1 >= argv.length) throw new InteropError('usage', `${arg} needs a value`)
    const value = await readValue(argv[++i])
    if (kind === 'int') {
      out[key] = Number.parseInt(value, 10)
      if (!Number.isInteger(out[key])) throw new InteropError('usage', `${arg} needs an integer`)
    } else if (kind === 'list') out[key].push(value)
    else out[key] = value
  }
  for (const [index, name] of (spec.positional ?? []).entries()) {
    if (out._[index] === undefined) throw new InteropError('usage', `missing argument ${name}`)
    out[name] = await readValue(out._[index])
  }
  return out
}

async function readValue(value) {
  if (value === '-') return (await readStdin()).trim()
  if (value.startsWith('@')) {
    const fs = await import('node:fs/promises')
    return (await fs.readFile(value.slice(1), 'utf8')).trim()
  }
  return value
}

async function readStdin() {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return Buffer.concat(chunks).toString('utf8')
}

/** Describe any error from oid4vc-ts, sd-jwt-js, jose or us as one JSON object. */
export function describeError(error) {
  const out = { error: error?.error ?? 'error', error_description: String(error?.message ?? error) }
  if (error?.details !== undefined) out.details = error.details
  if (error?.errorResponse) out.error_response = error.errorResponse // Oauth2*ErrorResponseError
  if (error?.response?.status) out.status = error.response.status
  if (error?.textResponse) out.response_body = error.textResponse // InvalidFetchResponseError
  const result = error?.response?.credentialErrorResponseResult ?? error?.response?.credentialResponseResult
  if (result?.data) out.error_response = result.data
  if (error?.response?.response?.status) out.status = error.response.response.status
  if (error?.zodError?.issues) out.issues = error.zodError.issues
  if (error?.cause) out.cause = String(error.cause?.message ?? error.cause)
  if (error?.name && out.error === 'error') out.error = error.name
  return out
}

/** Run a CLI program: print exactly one JSON document, exit 0 on success, 1 on failure. */
export async function runMain(program) {
  try {
    const result = await program(process.argv.slice(2))
    process.stdout.write(`${JSON.stringify(result)}\n`)
    process.exitCode = 0
  } catch (error) {
    process.stdout.write(`${JSON.stringify(describeError(error))}\n`)
    if (process.env.INTEROP_DEBUG) process.stderr.write(`${error?.stack ?? error}\n`)
    process.exitCode = 1
  }
}
