// A real, independent OpenID Provider for the wallet's OpenID Connect login tests: panva's certified
// `oidc-provider` (https://github.com/panva/node-oidc-provider), configured like an eduID-style provider
// (confidential web clients, authorization code flow, PKCE required, RFC 9207 `iss` in the answer).
//
//   node server.mjs '{"port": P, "clients": [{client_id, client_secret, redirect_uris}],
//                     "accounts": [{username, password, sub, claims}]}'
//
// It listens on 127.0.0.1:P, calls itself http://localhost:P, and prints one JSON line when ready:
// {"ready": true, "issuer": "..."}. The login and consent pages are our own small forms (the
// provider's development pages accept any name without a password; these check the account's).
import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes, timingSafeEqual } from 'node:crypto';

import Provider from 'oidc-provider';

const config = JSON.parse(process.argv[2] ?? '{}');
const port = Number(config.port);
const issuer = `http://localhost:${port}`;
const accounts = config.accounts ?? [];

function signingKey(type, options, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), alg, use: 'sig', kid: `${alg.toLowerCase()}-${randomBytes(4).toString('hex')}` };
}

const provider = new Provider(issuer, {
  clients: (config.clients ?? []).map((client) => ({
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    ...client,
  })),
  jwks: {
    keys: [signingKey('rsa', { modulusLength: 2048 }, 'RS256'), signingKey('ec', { namedCurve: 'P-256' }, 'ES256')],
  },
  async findAccount(ctx, sub) {
    const account = accounts.find((candidate) => candidate.sub === sub);
    if (!account) return undefined;
    return { accountId: sub, async claims() { return { sub, ...(account.claims ?? {}) }; } };
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'given_name', 'family_name'],
    email: ['email', 'email_verified'],
  },
  conformIdTokenClaims: false, // the requested profile claims go into the ID token (no userinfo call needed)
  features: { devInteractions: { enabled: false } },
  interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  ttl: { AuthorizationCode: 60, IdToken: 3600, AccessToken: 600, Interaction: 600, Session: 3600, Grant: 3600 },
});

const escape = (text) => String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function page(res, status, title, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)} · Test eduID</title>`
    + '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,"></head>'
    + `<body><main><h1>${escape(title)}</h1>${body}</main></body></html>`);
}

function loginPage(res, uid, clientId, error) {
  page(res, error ? 400 : 200, 'Log in', `<p>to continue to ${escape(clientId)}</p>`
    + (error ? `<p role="alert">${escape(error)}</p>` : '')
    + `<form method="post" action="/interaction/${escape(uid)}/login">`
    + '<p><label for="login">Username</label> <input id="login" name="login" autocomplete="username" required></p>'
    + '<p><label for="password">Password</label> <input id="password" name="password" type="password" required></p>'
    + '<p><button type="submit">Log in</button></p></form>');
}

function consentPage(res, uid, clientId, scopes) {
  page(res, 200, 'Share your details', `<p>${escape(clientId)} asks for: ${escape(scopes.join(', '))}</p>`
    + `<form method="post" action="/interaction/${escape(uid)}/confirm"><p><button type="submit">Allow</button></p></form>`
    + `<form method="post" action="/interaction/${escape(uid)}/abort"><p><button type="submit">Deny</button></p></form>`);
}

async function formBody(req) {
  let body = '';
  for await (const chunk of req) {
    body += chunk;
    if (body.length > 10000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function samePassword(given, expected) {
  const a = Buffer.from(String(given));
  const b = Buffer.from(String(expected));
  return a.length === b.length && timingSafeEqual(a, b);
}

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) { page(res, 400, 'Wrong interaction', ''); return; }
  const clientId = details.params.client_id;
  if (req.method === 'GET' && !action) {
    if (details.prompt.name === 'login') loginPage(res, uid, clientId);
    else consentPage(res, uid, clientId, details.prompt.details.missingOIDCScope ?? []);
    return;
  }
  if (req.method !== 'POST') { page(res, 405, 'Method not allowed', ''); return; }
  if (action === 'login') {
    const form = await formBody(req);
    const account = accounts.find((candidate) => candidate.username === form.get('login'));
    if (!account || !samePassword(form.get('password') ?? '', account.password)) {
      loginPage(res, uid, clientId, 'Wrong username or password.');
      return;
    }
    await provider.interactionFinished(req, res, { login: { accountId: account.sub } }, { mergeWithLastSubmission: false });
    return;
  }
  if (action === 'confirm') {
    const grant = details.grantId ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId });
    const missing = details.prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }
  if (action === 'abort') {
    await provider.interactionFinished(req, res, { error: 'access_denied', error_description: 'End-User denied' },
      { mergeWithLastSubmission: false });
    return;
  }
  page(res, 404, 'Not found', '');
}

const callback = provider.callback();
const server = createServer((req, res) => {
  const match = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|confirm|abort))?$/.exec(new URL(req.url, issuer).pathname);
  if (!match) { callback(req, res); return; }
  interaction(req, res, match[1], match[2]).catch((error) => {
    if (!res.headersSent) page(res, 400, 'Something went wrong', `<p>${escape(error.message)}</p>`);
  });
});
server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, issuer })}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
