// The Kubernetes client: get, list, create, replace, patch, apply and delete of any kind.
import type { KubeConfig } from "@kubernetes/client-node";
import { type ApiClient, type ApiRequest, createApiClient } from "./api-client.js";
import { ReconcilerError } from "./errors.js";
import type { KubeObject, ObjectReference } from "./kubernetes-object.js";
import { referenceTo } from "./kubernetes-object.js";
import { createResourcePaths, type ResourcePaths } from "./resource-paths.js";

export const PatchType = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategicMerge: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
} as const;
export type PatchType = (typeof PatchType)[keyof typeof PatchType];

export interface ListOptions {
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Page size; the list follows `continue` tokens to the end. Default 500. */
  pageSize?: number;
  signal?: AbortSignal;
}

export interface ListResult<T> {
  items: T[];
  /** The collection's resourceVersion: where a watch continues from. */
  resourceVersion: string;
}

export interface WriteOptions {
  /** The field manager recorded in managedFields. */
  fieldManager?: string;
  /** "All" to validate and admit without persisting. */
  dryRun?: "All";
  signal?: AbortSignal;
}

export interface ApplyOptions {
  /** Required: who owns the applied fields. */
  fieldManager: string;
  /** Take over fields owned by other managers instead of failing with 409 Conflict. */
  force?: boolean;
  dryRun?: "All";
  signal?: AbortSignal;
}

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  /** Delete only if the object still has this uid / resourceVersion. */
  preconditions?: { uid?: string; resourceVersion?: string };
  signal?: AbortSignal;
}

/** Any kind, addressed by apiVersion + kind + name: the verbs controllers use. */
export interface KubernetesClient {
  readonly api: ApiClient;
  readonly resources: ResourcePaths;
  get<T extends KubeObject>(reference: ObjectReference, signal?: AbortSignal): Promise<T>;
  list<T extends KubeObject>(
    apiVersion: string,
    kind: string,
    options?: ListOptions,
  ): Promise<ListResult<T>>;
  create<T extends KubeObject>(object: T, options?: WriteOptions): Promise<T>;
  /** PUT: fails with 409 Conflict when metadata.resourceVersion is stale (optimistic locking). */
  replace<T extends KubeObject>(
    object: T,
    options?: WriteOptions & { subresource?: string },
  ): Promise<T>;
  patch<T extends KubeObject>(
    reference: ObjectReference,
    patch: unknown,
    type: PatchType,
    options?: WriteOptions & { subresource?: string; force?: boolean },
  ): Promise<T>;
  /** Server-side apply of `object` (which must carry apiVersion, kind and name). */
  apply<T extends KubeObject>(
    object: KubeObject,
    options: ApplyOptions & { subresource?: string },
  ): Promise<T>;
  delete(reference: ObjectReference, options?: DeleteOptions): Promise<void>;
  close(): Promise<void>;
}

export interface KubernetesClientOptions {
  kubeConfig: KubeConfig;
  /** Timeout of one non-watch request. Default 30 s. */
  requestTimeoutMs?: number;
}

interface ListBody<T> {
  items?: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export function createKubernetesClient(options: KubernetesClientOptions): KubernetesClient {
  const api = createApiClient(options);
  const resources = createResourcePaths(api);

  async function write<T>(
    request: Omit<ApiRequest, "path">,
    location: Parameters<ResourcePaths["pathFor"]>[0],
  ): Promise<T> {
    const path = await resources.pathFor(location);
    return api.request<T>({ ...request, path });
  }

  const client: KubernetesClient = {
    api,
    resources,

    get(reference, signal) {
      return write({ method: "GET", signal }, reference);
    },

    async list<T extends KubeObject>(
      apiVersion: string,
      kind: string,
      listOptions: ListOptions = {},
    ) {
      const { namespace, labelSelector, fieldSelector, pageSize = 500, signal } = listOptions;
      const path = await resources.pathFor({ apiVersion, kind, namespace });
      const items: T[] = [];
      let token: string | undefined;
      let resourceVersion = "";
      do {
        const page = await api.request<ListBody<T>>({
          method: "GET",
          path,
          query: { labelSelector, fieldSelector, limit: pageSize, continue: token },
          signal,
        });
        // The list body carries no apiVersion/kind per item; restore them for the caller.
        for (const item of page.items ?? []) items.push({ apiVersion, kind, ...item });
        resourceVersion = page.metadata?.resourceVersion ?? resourceVersion;
        token = page.metadata?.continue || undefined;
      } while (token);
      return { items, resourceVersion };
    },

    create(object, writeOptions = {}) {
      const { apiVersion, kind } = object;
      if (!apiVersion || !kind) {
        throw new ReconcilerError("BAD_OBJECT", "create: the object needs apiVersion and kind");
      }
      const namespace = object.metadata?.namespace;
      return write(
        {
          method: "POST",
          body: object,
          query: { fieldManager: writeOptions.fieldManager, dryRun: writeOptions.dryRun },
          signal: writeOptions.signal,
        },
        { apiVersion, kind, namespace },
      );
    },

    replace(object, writeOptions = {}) {
      const reference = referenceTo(object, "replace");
      return write(
        {
          method: "PUT",
          body: object,
          query: { fieldManager: writeOptions.fieldManager, dryRun: writeOptions.dryRun },
          signal: writeOptions.signal,
        },
        { ...reference, subresource: writeOptions.subresource },
      );
    },

    patch(reference, patch, type, patchOptions = {}) {
      if (patchOptions.force !== undefined && type !== PatchType.apply) {
        throw new ReconcilerError("BAD_OPTION", "patch: force applies to server-side apply only");
      }
      return write(
        {
          method: "PATCH",
          body: patch,
          contentType: type,
          query: {
            fieldManager: patchOptions.fieldManager,
            dryRun: patchOptions.dryRun,
            force: patchOptions.force,
          },
          signal: patchOptions.signal,
        },
        { ...reference, subresource: patchOptions.subresource },
      );
    },

    apply(object, applyOptions) {
      if (!applyOptions.fieldManager) {
        throw new ReconcilerError(
          "BAD_OPTION",
          "apply: a fieldManager is required for server-side apply",
        );
      }
      // managedFields come back from reads and the server refuses them in an apply body. A
      // resourceVersion is kept: it makes the apply conditional, which a caller may want.
      const { managedFields: _fields, ...metadata } = object.metadata ?? {};
      return client.patch(referenceTo(object, "apply"), { ...object, metadata }, PatchType.apply, {
        fieldManager: applyOptions.fieldManager,
        force: applyOptions.force ?? false,
        dryRun: applyOptions.dryRun,
        signal: applyOptions.signal,
        subresource: applyOptions.subresource,
      });
    },

    async delete(reference, deleteOptions = {}) {
      const body: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "v1" };
      if (deleteOptions.propagationPolicy) body.propagationPolicy = deleteOptions.propagationPolicy;
      if (deleteOptions.preconditions) body.preconditions = deleteOptions.preconditions;
      await write({ method: "DELETE", body, signal: deleteOptions.signal }, reference);
    },

    close: () => api.close(),
  };
  return client;
}
