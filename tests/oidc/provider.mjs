// A real, certified OpenID Provider for the tests: panva's oidc-provider (from the npm registry,
// pinned in tests/oidc/install.sh, installed into .tools/node), on 127.0.0.1 and a free port.
//
//   node tests/oidc/provider.mjs            prints "issuer http://127.0.0.1:PORT" once listening
//
// One client (OIDC_CLIENT_ID / OIDC_CLIENT_SECRET, default runner-api / runner-api-secret) whose
// redirect URIs are OIDC_REDIRECT_URIS (space separated); two users of different email domains,
// signed in on the provider's own login page (devInteractions) with their email address and any
// password: alice@acme.test and bob@other.test. Anything else typed is refused.
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

const provider = new Provider(issuer, {
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
server.on('request', provider.callback());
console.log(`issuer ${issuer}`);
