// The Kubernetes client of the kubernetes.* activities: one kubeconfig from the worker's environment
// (KUBECONFIG, ~/.kube/config, or the in-cluster service account), loaded once. Requests go through
// client-node's KubernetesObjectApi (discovery of kind -> resource path, auth, TLS) but bodies are
// sent and returned as plain JSON: the typed (de)serializer would drop unknown fields (hiding the
// server's strict field validation) and turn timestamps into Dates.
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  Watch,
  type KubernetesObject,
  type RequestContext,
  type ResponseContext,
} from '@kubernetes/client-node';

/** The field manager of every server-side apply made by the activities. */
export const FIELD_MANAGER = 'cedille-workflows';

const RAW = '__cedille_raw__';

export interface RawResponse<T = unknown> {
  status: number;
  body: T;
}

/** A Kubernetes object as plain JSON. */
export interface KObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: unknown[];
    [key: string]: unknown;
  };
  [key: string]: unknown;
}

export interface KList {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string };
  items: KObject[];
}

export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

type Query = Record<string, string | number | boolean | undefined>;

class RawObjectApi extends KubernetesObjectApi {
  static create(kc: KubeConfig): RawObjectApi {
    const api = kc.makeApiClient(RawObjectApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  /** Collection path (`/apis/apps/v1/namespaces/x/deployments`) or object path when `name` is set. */
  async path(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    const spec: KubernetesObject = { apiVersion, kind, metadata: { ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) } };
    return this.specUriPath(spec, name ? 'read' : 'list');
  }

  async raw<T>(method: HttpMethod, path: string, opts: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal } = {}): Promise<RawResponse<T>> {
    const ctx: RequestContext = this.configuration.baseServer.makeRequestContext(path, method);
    ctx.setHeaderParam('Accept', 'application/json');
    for (const [k, v] of Object.entries(opts.query ?? {})) if (v !== undefined) ctx.setQueryParam(k, String(v));
    if (opts.body !== undefined) {
      ctx.setHeaderParam('Content-Type', opts.contentType ?? 'application/json');
      ctx.setBody(JSON.stringify(opts.body));
    }
    if (opts.signal) ctx.setSignal(opts.signal);
    return (await this.requestPromise(ctx, RAW)) as unknown as RawResponse<T>;
  }

  protected override async processResponse<T extends KubernetesObject>(response: ResponseContext, type?: string): Promise<T> {
    if (type !== RAW) return super.processResponse<T>(response, type);
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) {
      return { status: response.httpStatusCode, body: text ? JSON.parse(text) : undefined } as unknown as T;
    }
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', text, response.headers);
  }
}

export class KubeClient {
  readonly config: KubeConfig;
  private readonly api: RawObjectApi;

  constructor(config: KubeConfig) {
    this.config = config;
    this.api = RawObjectApi.create(config);
  }

  path(apiVersion: string, kind: string, namespace?: string, name?: string): Promise<string> {
    return this.api.path(apiVersion, kind, namespace, name);
  }

  /** The collection path of an object's kind, in the object's namespace (defaulted like get/apply do). */
  async collectionPathOf(ref: ObjectRef): Promise<string> {
    const path = await this.path(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    return path.slice(0, path.lastIndexOf('/'));
  }

  async listAt(path: string, query: Query, signal?: AbortSignal): Promise<KList> {
    return (await this.api.raw<KList>(HttpMethod.GET, path, { query, signal })).body;
  }

  /** Server-side apply; `created` from the server's 201. `dryRun`: validated and admitted, not persisted (dryRun=All). */
  async apply(obj: KObject, opts: { force?: boolean; fieldManager?: string; signal?: AbortSignal; dryRun?: boolean } = {}): Promise<{ object: KObject; created: boolean }> {
    const path = await this.path(obj.apiVersion, obj.kind, obj.metadata.namespace, obj.metadata.name);
    const res = await this.api.raw<KObject>(HttpMethod.PATCH, path, {
      query: { fieldManager: opts.fieldManager ?? FIELD_MANAGER, force: opts.force ? true : undefined, fieldValidation: 'Strict', dryRun: opts.dryRun ? 'All' : undefined },
      body: obj,
      contentType: PatchStrategy.ServerSideApply,
      signal: opts.signal,
    });
    return { object: res.body, created: res.status === 201 };
  }

  /** A JSON merge patch of an object or one of its subresources (e.g. `scale`). */
  async mergePatch(ref: ObjectRef, body: unknown, opts: { subresource?: string; signal?: AbortSignal } = {}): Promise<KObject> {
    const path = await this.path(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    const res = await this.api.raw<KObject>(HttpMethod.PATCH, opts.subresource ? `${path}/${opts.subresource}` : path, {
      query: { fieldManager: FIELD_MANAGER },
      body,
      contentType: PatchStrategy.MergePatch,
      signal: opts.signal,
    });
    return res.body;
  }

  async get(ref: ObjectRef, signal?: AbortSignal): Promise<KObject> {
    const path = await this.path(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    return (await this.api.raw<KObject>(HttpMethod.GET, path, { signal })).body;
  }

  async list(apiVersion: string, kind: string, opts: { namespace?: string; labelSelector?: string; fieldSelector?: string; limit?: number; continue?: string; signal?: AbortSignal } = {}): Promise<KList> {
    const path = await this.path(apiVersion, kind, opts.namespace);
    const query = { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector, limit: opts.limit, continue: opts.continue };
    return (await this.api.raw<KList>(HttpMethod.GET, path, { query, signal: opts.signal })).body;
  }

  async delete(ref: ObjectRef, opts: { propagationPolicy?: string; gracePeriodSeconds?: number; signal?: AbortSignal } = {}): Promise<RawResponse> {
    const path = await this.path(ref.apiVersion, ref.kind, ref.namespace, ref.name);
    const body = { apiVersion: 'v1', kind: 'DeleteOptions', propagationPolicy: opts.propagationPolicy, gracePeriodSeconds: opts.gracePeriodSeconds };
    return this.api.raw(HttpMethod.DELETE, path, { body, signal: opts.signal });
  }

  /**
   * A watch on a collection path; resolves once the watch is established (or failed). `done` is
   * called once when it ends: `null` for a server-side close, else the error.
   */
  watch(path: string, query: Query, onEvent: (type: string, object: KObject) => void, done: (err: unknown) => void): Promise<AbortController> {
    return new Watch(this.config).watch(path, query, (type, obj) => onEvent(type, obj as KObject), done);
  }
}

/** A kubeconfig from the environment: KUBECONFIG / ~/.kube/config, else in-cluster. */
export function kubeConfigFromEnv(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error('no Kubernetes cluster configured: set KUBECONFIG or run in a cluster');
  return kc;
}

let client: KubeClient | undefined;

/** The worker's client, loaded on first use. */
export function kube(): KubeClient {
  client ??= new KubeClient(kubeConfigFromEnv());
  return client;
}
