// A tiny node:http server frame for the interop issuer and verifier: routes, bodies, JSON/form
// replies, protocol errors as `{error, error_description}`, and the one "ready" line on stdout.

import http from 'node:http'
import { Oauth2ResourceUnauthorizedError, Oauth2ServerErrorResponseError } from '@openid4vc/oauth2'
import { describeError, InteropError, parseArgs } from './common.mjs'

const MAX_BODY = 1024 * 1024

export class Reply {
  constructor(status, body, headers = {}) {
    this.status = status
    this.body = body
    this.headers = headers
  }
}

export const json = (body, status = 200, headers = {}) =>
  new Reply(status, JSON.stringify(body), { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers })
export const text = (body, contentType, status = 200) => new Reply(status, body, { 'Content-Type': contentType, 'Cache-Control': 'no-store' })
export const protocolError = (error, description, status = 400) => json({ error, error_description: description }, status)

async function readBody(request) {
  const chunks = []
  let size = 0
  for await (const chunk of request) {
    size += chunk.length
    if (size > MAX_BODY) throw new InteropError('invalid_request', 'body too large')
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** `{method, url, path, headers (a Headers), query, text, form(), json()}` for a handler. */
async function toRequest(request, baseUrl) {
  const url = new URL(request.url, baseUrl)
  const headers = new Headers()
  for (const [name, value] of Object.entries(request.headers)) headers.set(name, Array.isArray(value) ? value.join(', ') : value)
  const body = ['POST', 'PUT'].includes(request.method) ? await readBody(request) : ''
  return {
    method: request.method,
    url: url.toString(),
    path: url.pathname,
    query: url.searchParams,
    headers,
    text: body,
    form: () => Object.fromEntries(new URLSearchParams(body)),
    json: () => {
      try {
        return JSON.parse(body || 'null')
      } catch {
        throw new InteropError('invalid_request', 'body is not JSON')
      }
    },
  }
}

function errorReply(error) {
  if (error instanceof Oauth2ServerErrorResponseError) return json(error.errorResponse, error.status ?? 400)
  if (error instanceof Oauth2ResourceUnauthorizedError) {
    return json({ error: 'invalid_token', error_description: error.message }, 401, {
      'WWW-Authenticate': error.toHeaderValue?.() ?? 'Bearer error="invalid_token"',
    })
  }
  if (error instanceof InteropError) return json({ error: error.error, error_description: error.message }, 400)
  process.stderr.write(`${error?.stack ?? error}\n`)
  return json({ ...describeError(error), error: 'server_error' }, 500)
}

/**
 * Serve `routes` (an array of `[method, RegExp, handler(request, match)]`) on 127.0.0.1:`port`,
 * public as `http://localhost:<port>`. `setup(baseUrl)` returns the routes and the ready document.
 */
export async function serve(argv, setup) {
  const args = await parseArgs(argv, { options: { '--port': 'int', '--host': 'string' } })
  const host = args.host ?? '127.0.0.1'
  const server = http.createServer()
  await new Promise((resolve) => server.listen(args.port ?? 0, host, resolve))
  const baseUrl = `http://localhost:${server.address().port}`
  const { routes, ready } = await setup(baseUrl, args)
  server.on('request', async (incoming, outgoing) => {
    let reply
    try {
      const request = await toRequest(incoming, baseUrl)
      const route = routes.find(([method, pattern]) => method === request.method && pattern.test(request.path))
      reply = route ? await route[2](request, request.path.match(route[1])) : protocolError('not_found', request.path, 404)
    } catch (error) {
      reply = errorReply(error)
    }
    outgoing.writeHead(reply.status, reply.headers)
    outgoing.end(reply.body ?? '')
  })
  process.stdout.write(`${JSON.stringify({ base_url: baseUrl, ...(await ready()) })}\n`)
  const stop = () => server.close(() => process.exit(0))
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}
