// Local peers of Google's token services for Workload Identity Federation, speaking their documented wire
// formats, so an `external_account` credential file can be exercised end to end:
//  - STS (sts.googleapis.com): `POST /v1/token`, form-encoded RFC 8693 token exchange
//    (grant_type urn:ietf:params:oauth:grant-type:token-exchange, subject_token_type …:jwt, requested_token_type
//    …:access_token, audience = the provider's resource name). It plays one OIDC provider of one pool: the subject
//    token's signature is checked against the local kube-apiserver's JWKS (as a provider with an uploaded JWKS, what
//    a bare-metal cluster whose issuer is not public uses), its issuer, its audience (the provider's default allowed
//    audience, `https://iam.googleapis.com/<provider>`) and its expiry; attribute mapping google.subject=assertion.sub,
//    attribute.namespace and attribute.service_account_name from the kubernetes.io claim. Answers a federated token,
//    or 400 with an OAuth error (invalid_grant, invalid_target, invalid_request).
//  - IAM credentials (iamcredentials.googleapis.com): `POST /v1/projects/-/serviceAccounts/<email>:generateAccessToken`
//    with the federated token as Bearer: allowed when a member bound to the account (roles/iam.workloadIdentityUser)
//    matches the federated principal; answers { accessToken, expireTime }, or a Google error (401, 403).
// `ownerOf(token)` tells the resource peers (KMS peer, GCS gate) whose access token a request carries.
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import type { KubeClients } from './cluster.ts';
import { json, localServer, type LocalServer } from '../activities/_support.ts';

export const PROJECT_NUMBER = '123456789012';
export const POOL = 'cedille-cluster';
export const PROVIDER = 'local-apiserver';
/** The provider's resource name: the `audience` of the credential file and of the STS request. */
export const PROVIDER_NAME = `//iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${POOL}/providers/${PROVIDER}`;
/** What the projected token's `aud` must hold (a provider's default allowed audience). */
export const TOKEN_AUDIENCE = `https:${PROVIDER_NAME}`;
const POOL_MEMBER = `iam.googleapis.com/projects/${PROJECT_NUMBER}/locations/global/workloadIdentityPools/${POOL}`;

export const principal = (subject: string) => `principal://${POOL_MEMBER}/subject/${subject}`;
export const principalSetByServiceAccountName = (name: string) => `principalSet://${POOL_MEMBER}/attribute.service_account_name/${name}`;

interface Federated {
  subject: string;
  attributes: Record<string, string>;
  expires: number;
}

export interface GcpTokenPeers {
  sts: LocalServer;
  iam: LocalServer;
  /** token_url and service_account_impersonation_url of a credential file. */
  tokenUrl: string;
  impersonationUrl(email: string): string;
  /** email -> members allowed to impersonate it */
  bindings: Map<string, Set<string>>;
  /** Added to the peers' clock (seconds): a test ages every token without waiting. */
  clockSkewSeconds: number;
  /** The service account whose unexpired access token this is, if any. */
  ownerOf(accessToken: string): string | undefined;
  /** Access tokens minted, in order. */
  minted: { email: string; token: string }[];
  close(): Promise<void>;
}

const oauthError = (error: string, description: string) => ({ error, error_description: description });
const googleError = (code: number, status: string, message: string) => ({ error: { code, message, status } });

/** Starts both peers, trusting the service-account tokens of the cluster `k` reaches. */
export async function startGcpTokenPeers(k: KubeClients): Promise<GcpTokenPeers> {
  const discovery = JSON.parse(await rawGet(k, '/.well-known/openid-configuration')) as { issuer: string };
  const jwks = createLocalJWKSet(JSON.parse(await rawGet(k, '/openid/v1/jwks')) as JSONWebKeySet);
  const federated = new Map<string, Federated>();
  const accessTokens = new Map<string, { email: string; expires: number }>();
  const bindings = new Map<string, Set<string>>();
  const minted: { email: string; token: string }[] = [];
  const peers = { clockSkewSeconds: 0 };
  const now = () => Date.now() + peers.clockSkewSeconds * 1000;

  const sts = await localServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/v1/token') return json(res, 404, oauthError('invalid_request', `no route ${req.method} ${req.url}`));
    if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] ?? '')) return json(res, 400, oauthError('invalid_request', 'the request must be form-encoded'));
    const form = new URLSearchParams(req.body);
    if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:token-exchange') return json(res, 400, oauthError('unsupported_grant_type', `grant_type ${form.get('grant_type')}`));
    if (form.get('requested_token_type') !== 'urn:ietf:params:oauth:token-type:access_token') return json(res, 400, oauthError('invalid_request', 'requested_token_type must be an access token'));
    if (form.get('subject_token_type') !== 'urn:ietf:params:oauth:token-type:jwt') return json(res, 400, oauthError('invalid_request', 'subject_token_type must be a JWT'));
    if (form.get('audience') !== PROVIDER_NAME) return json(res, 400, oauthError('invalid_target', `The target service indicated by the "audience" parameters is invalid: ${form.get('audience')}`));
    void (async () => {
      try {
        const { payload } = await jwtVerify(form.get('subject_token') ?? '', jwks, { issuer: discovery.issuer, audience: TOKEN_AUDIENCE, currentDate: new Date(now()) });
        const k8s = (payload['kubernetes.io'] ?? {}) as { namespace?: string; serviceaccount?: { name?: string } };
        const token = `fed-${randomBytes(16).toString('hex')}`;
        federated.set(token, {
          subject: String(payload.sub),
          attributes: { namespace: k8s.namespace ?? '', service_account_name: k8s.serviceaccount?.name ?? '' },
          expires: now() + 3600_000,
        });
        json(res, 200, { access_token: token, issued_token_type: 'urn:ietf:params:oauth:token-type:access_token', token_type: 'Bearer', expires_in: 3600 });
      } catch (err) {
        json(res, 400, oauthError('invalid_grant', `The subject token was rejected: ${(err as Error).message}`));
      }
    })();
  });

  const iam = await localServer((req, res) => {
    const m = /^\/v1\/projects\/-\/serviceAccounts\/([^/:]+):generateAccessToken$/.exec(req.url);
    if (req.method !== 'POST' || !m) return json(res, 404, googleError(404, 'NOT_FOUND', `no route ${req.method} ${req.url}`));
    const email = decodeURIComponent(m[1]!);
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const who = bearer ? federated.get(bearer) : undefined;
    if (!who || who.expires <= now()) return json(res, 401, googleError(401, 'UNAUTHENTICATED', 'Request had invalid authentication credentials. Expected OAuth 2 access token.'));
    const members = bindings.get(email) ?? new Set<string>();
    const allowed = members.has(principal(who.subject)) || Object.entries(who.attributes).some(([a, v]) => members.has(`principalSet://${POOL_MEMBER}/attribute.${a}/${v}`));
    if (!allowed) return json(res, 403, googleError(403, 'PERMISSION_DENIED', `Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).`));
    const body = JSON.parse(req.body || '{}') as { scope?: string[]; lifetime?: string };
    if (!body.scope?.length) return json(res, 400, googleError(400, 'INVALID_ARGUMENT', 'Scope required.'));
    const seconds = Number(/^(\d+)s$/.exec(body.lifetime ?? '3600s')?.[1] ?? 3600);
    const token = `ya29.local-${randomBytes(16).toString('hex')}`;
    const expires = now() + seconds * 1000;
    accessTokens.set(token, { email, expires });
    minted.push({ email, token });
    json(res, 200, { accessToken: token, expireTime: new Date(expires).toISOString() });
  });

  return Object.assign(peers, {
    sts,
    iam,
    tokenUrl: sts.url('/v1/token'),
    impersonationUrl: (email: string) => iam.url(`/v1/projects/-/serviceAccounts/${email}:generateAccessToken`),
    bindings,
    minted,
    ownerOf(token: string) {
      const t = accessTokens.get(token);
      return t && t.expires > now() ? t.email : undefined;
    },
    close: async () => {
      await Promise.all([sts.close(), iam.close()]);
    },
  });
}

/** A document of the API server (admin kubeconfig), as an operator fetches it to configure the provider. */
async function rawGet(k: KubeClients, path: string): Promise<string> {
  const cluster = k.kc.getCurrentCluster();
  if (!cluster) throw new Error('no current cluster in the kubeconfig');
  const options: https.RequestOptions = { headers: { accept: 'application/json, application/jwk-set+json' } };
  await k.kc.applyToHTTPSOptions(options);
  return new Promise((resolve, reject) => {
    https.get(`${cluster.server}${path}`, options, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`GET ${path} of the API server: HTTP ${res.statusCode} ${body}`))));
    }).on('error', reject);
  });
}
