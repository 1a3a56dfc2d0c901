// A real OpenID Connect provider for RPA-banken's sign-in tests: the certified npm package `oidc-provider`
// on loopback, with its own login and consent pages (devInteractions: any password; the login is the account).
//
// Configured by environment variables that the tests set:
//   OIDC_PORT          the port to listen on (127.0.0.1)
//   OIDC_CLIENTS       JSON list of clients: [{client_id, client_secret, redirect_uris, post_logout_redirect_uris}]
//   OIDC_ACCOUNTS      a JSON file: login → claims ({email, name, groups, ...}), read at each sign-in (a test may
//                      change a person between sign-ins)
//   OIDC_JWKS          JSON {keys: [private JWK]} the provider signs ID tokens with (the tests keep the key to mint
//                      tokens the provider would never issue: wrong audience, expired)
//   OIDC_ID_TOKEN_TTL  seconds an ID token lives (default 3600)
import { readFileSync } from 'node:fs';

import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const accounts = () => JSON.parse(readFileSync(process.env.OIDC_ACCOUNTS, 'utf8'));

const provider = new Provider(issuer, {
  clients: JSON.parse(process.env.OIDC_CLIENTS || '[]'),
  jwks: JSON.parse(process.env.OIDC_JWKS),
  cookies: { keys: ['rpabank-test-provider'] },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name'],
    groups: ['groups'],
    municipality: ['municipality'],
  },
  // Claims go into the ID token (what RPA-banken reads), as Entra ID does by default.
  conformIdTokenClaims: false,
  ttl: { IdToken: Number(process.env.OIDC_ID_TOKEN_TTL || 3600) },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    const claims = accounts()[id];
    if (!claims) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email_verified: true, ...claims };
      },
    };
  },
});
provider.proxy = false;

provider.listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
