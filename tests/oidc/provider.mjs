// A real, certified OpenID Provider for the tests: panva's oidc-provider (from the npm registry,
// pinned in tests/oidc/install.sh, installed into .tools/node), on 127.0.0.1 and a free port.
//
//   node tests/oidc/provider.mjs            prints "issuer http://127.0.0.1:PORT" once listening
//
// One client (OIDC_CLIENT_ID / OIDC_CLIENT_SECRET, default runner-api / runner-api-secret) whose
// redirect URIs are OIDC_REDIRECT_URIS (space separated); two users of different email domains,
// signed in on the provider's own login page (devInteractions) with their email address and any
// password: alice@acme.test and bob@other.test. Anything else typed is refused.
//
// For the refusal tests the provider can be made to misbehave on later token responses:
// `POST /__test/id_token/MODE` with MODE one of honest (the default), tampered (a claim changed
// after signing), wrong_audience, expired and wrong_nonce (each signed again with the provider's
// own key, so that only that check fails).
import crypto from 'node:crypto';
import http from 'node:http';
import path from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const modules = process.env.OIDC_PROVIDER_MODULES || path.join(root, '.tools/node/node_modules');
const require = createRequire(path.join(modules, 'noop.js'));
const { default: Provider } = await import(pathToFileURL(require.resolve('oidc-provider')).href);

// The login page's "login" field is the account id, and the subject: the email address.
const USERS = {
  'alice@acme.test': { name: 'Alice Acme' },
  'bob@other.test': { name: 'Bob Other' },
};

const server = http.createServer();
await new Promise((resolve) => server.listen(Number(process.env.OIDC_PORT || 0), '127.0.0.1', resolve));
const issuer = `http://127.0.0.1:${server.address().port}`;

// The signing key, made here so that misbehaving tokens can be signed with it too.
const { privateKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = { ...privateKey.export({ format: 'jwk' }), kid: 'test-key-1', alg: 'RS256', use: 'sig' };
const MODES = ['honest', 'tampered', 'wrong_audience', 'expired', 'wrong_nonce'];
let mode = 'honest';

function misbehave(idToken) {
  const [header, payload, signature] = idToken.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  const now = Math.floor(Date.now() / 1000);
  if (mode === 'tampered') claims.email = 'mallory@acme.test';
  if (mode === 'wrong_audience') claims.aud = 'another-client';
  if (mode === 'expired') Object.assign(claims, { iat: now - 7200, exp: now - 3600 });
  if (mode === 'wrong_nonce') claims.nonce = 'not-the-nonce-that-was-sent';
  const changed = Buffer.from(JSON.stringify(claims)).toString('base64url');
  if (mode === 'tampered') return `${header}.${changed}.${signature}`;
  const resigned = crypto.sign('sha256', Buffer.from(`${header}.${changed}`), privateKey).toString('base64url');
  return `${header}.${changed}.${resigned}`;
}

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey] },
  clients: [
    {
      client_id: process.env.OIDC_CLIENT_ID || 'runner-api',
      client_secret: process.env.OIDC_CLIENT_SECRET || 'runner-api-secret',
      redirect_uris: (process.env.OIDC_REDIRECT_URIS || 'http://127.0.0.1/callback').split(' ').filter(Boolean),
      grant_types: ['authorization_code'],
      response_types: ['code'],
    },
  ],
  pkce: { required: () => true },
  claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const user = USERS[id];
    if (!user) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, name: user.name, email: id, email_verified: true };
      },
    };
  },
});
// The test server is plain http on loopback.
provider.proxy = false;
provider.use(async (ctx, next) => {
  const control = ctx.path.match(/^\/__test\/id_token\/([a-z_]+)$/);
  if (control && ctx.method === 'POST' && MODES.includes(control[1])) {
    mode = control[1];
    ctx.status = 204;
    return;
  }
  await next();
  if (ctx.path === '/token' && mode !== 'honest' && ctx.body && ctx.body.id_token) {
    ctx.body = { ...ctx.body, id_token: misbehave(ctx.body.id_token) };
  }
});
server.on('request', provider.callback());
console.log(`issuer ${issuer}`);
