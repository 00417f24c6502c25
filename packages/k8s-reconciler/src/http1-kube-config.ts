// A KubeConfig whose connections use HTTP/1.1.
import { type Cluster, KubeConfig } from "@kubernetes/client-node";
import { Agent, type Dispatcher } from "undici";

// With undici 8, client-node speaks HTTP/2, and destroying the connection pool while a
// just-aborted watch stream is still being reset emits an 'error' event nobody can listen to:
// an uncaught exception that killed processes on shutdown (`client.close()`). Over HTTP/1.1 an
// aborted request is simply a closed socket, so the API client uses HTTP/1.1.

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
