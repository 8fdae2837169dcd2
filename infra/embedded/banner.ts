// What `npm start` prints once everything is up: where to click, what to paste.
import type { DevTokens } from '../../api/dev-tokens.ts';

export interface BannerInfo {
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /** Only when `npm start` runs the dev server. */
  uiUrl?: string;
  apiUrl: string;
  dataDir: string;
  /** The dev tokens, when the API accepts them (api/config.ts). */
  tokens?: DevTokens;
  /** `opt-in`: the dev tokens are live on a non-loopback address (CEDILLE_DEV_TOKENS=1): shouted about. */
  devTokens?: 'loopback' | 'opt-in' | 'off';
  /** How to invoke the `temporal` CLI (a full path when it is not on PATH). */
  cli: string;
  /** The Kubernetes cluster the worker's activities use, if any. */
  kubernetes?: { kubeconfig: string; server?: string; local: boolean };
  /** Payload encryption: the keys (file or inline) and the codec endpoint the UI and `temporal` decode through. */
  codec?: { keys: string; endpoint: string };
}

function kubernetesLine(k: BannerInfo['kubernetes']): string {
  if (!k) return '(none: `npm start -- --local-cluster` runs a local one, or set KUBECONFIG)';
  if (!k.local) return `KUBECONFIG=${k.kubeconfig}   (not managed here)`;
  return `KUBECONFIG=${k.kubeconfig}   (local cluster ${k.server}, kwok nodes; kubectl works with it)`;
}

function codecLines(c: NonNullable<BannerInfo['codec']>): string[] {
  // Inline keys (id:base64,...) are never printed; a keys file is named.
  const keys = /^[^/.][^,]*:/.test(c.keys) ? 'inline in CEDILLE_CODEC_KEYS' : c.keys;
  return [
    `  Payloads        encrypted in history (AES-256-GCM; keys ${keys})`,
    `  Codec endpoint  ${c.endpoint}   (for the UI: open ${c.endpoint}/session once, see docs/SECURITY.md)`,
  ];
}

function tokenLines(b: BannerInfo): string[] {
  if (!b.tokens) return ['  Tokens          (dev tokens off: use your OIDC or CEDILLE_API_TOKENS_FILE token)'];
  const lines = [
    `  Admin token     ${b.tokens.admin}   (dev-admin: everything but approving)`,
    `  Approver token  ${b.tokens.approver}   (dev-approver: operator, groups ets-it, sre, admins)`,
  ];
  if (b.devTokens !== 'opt-in') return lines;
  const rule = `  ${'!'.repeat(100)}`;
  return [
    rule,
    `  !! WARNING: CEDILLE_DEV_TOKENS=1 - the dev tokens below are live on ${b.apiUrl}, which is NOT a loopback address.`,
    '  !! Anyone who reaches it with them acts as admin or approver. Use OIDC or CEDILLE_API_TOKENS_FILE beyond one machine.',
    rule,
    ...lines,
  ];
}

export function banner(b: BannerInfo): string {
  const token = b.tokens?.admin ?? '<your token>';
  const ns = b.namespace === 'default' ? '' : ` --namespace ${b.namespace}`;
  const startForm = b.uiUrl
    ? `${b.uiUrl}/namespaces/${encodeURIComponent(b.namespace)}/workflows/start-workflow?` +
      new URLSearchParams({ workflowType: 'helloWorld', taskQueue: b.taskQueue }).toString()
    : undefined;
  return [
    'Cédille Workflows is running. Ctrl-C stops it.',
    `  Temporal UI     ${b.uiUrl ?? '(not managed here: TEMPORAL_ADDRESS is set)'}`,
    `  Temporal        ${b.temporalAddress}   namespace ${b.namespace}   task queue ${b.taskQueue}`,
    `  API             ${b.apiUrl}   (/healthz, /readyz, /metrics)`,
    `  API docs        ${b.apiUrl}/docs`,
    ...tokenLines(b),
    `  Kubernetes      ${kubernetesLine(b.kubernetes)}`,
    ...(b.codec ? codecLines(b.codec) : []),
    `  Data            ${b.dataDir}`,
    'Try it, the built-in helloWorld workflow with input {"name":"Ada"}:',
    ...(startForm ? [`  in the UI      ${startForm}`] : []),
    `  with temporal  ${b.cli} workflow start --type helloWorld --task-queue ${b.taskQueue} --input '{"name":"Ada"}' --address ${b.temporalAddress}${ns}`,
    ...(b.codec ? [`  its result     ${b.cli} workflow show -w <workflow id> --address ${b.temporalAddress}${ns} --codec-endpoint ${b.codec.endpoint} --codec-auth 'Bearer ${token}'`] : []),
    `  with cedille   CEDILLE_API_URL=${b.apiUrl} CEDILLE_TOKEN=${token} npm run -s cedille -- run hello-world --set name=Ada --watch`,
    '',
  ].join('\n');
}
