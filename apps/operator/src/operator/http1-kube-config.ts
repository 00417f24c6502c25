import { type Cluster, KubeConfig } from "@kubernetes/client-node";
import { Agent, type Dispatcher } from "undici";

// Workaround: with undici 8 the API client speaks HTTP/2, and destroying the connection pool
// while a just-aborted watch stream is still being reset emits an 'error' event nobody listens
// to — an uncaught exception that kills the process on shutdown (k8s-reconciler's
// `client.close()`). Over HTTP/1.1 an aborted request is simply a closed socket. Remove this
// once the reconciler's client closes HTTP/2 sessions cleanly.

type DispatcherFactory = (cluster: Cluster | null, agentOptions: object) => Dispatcher | undefined;

/** A copy of `source` whose connections to the API server use HTTP/1.1. */
export function http1KubeConfig(source: KubeConfig): KubeConfig {
  const copy = new KubeConfig();
  copy.loadFromOptions({
    clusters: source.clusters,
    users: source.users,
    contexts: source.contexts,
    currentContext: source.currentContext,
  });
  // createDispatcher is private in the type declarations but is the documented extension point.
  const target = copy as unknown as { createDispatcher: DispatcherFactory };
  const original = target.createDispatcher.bind(copy);
  target.createDispatcher = (cluster, agentOptions) => {
    const options = copy.createDispatcherOptions(cluster, agentOptions);
    if (options.type !== "agent") return original(cluster, agentOptions);
    return new Agent({ connect: options.connect, allowH2: false });
  };
  return copy;
}
