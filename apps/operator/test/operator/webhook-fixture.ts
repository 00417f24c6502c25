// The admission webhook served over HTTPS on loopback next to a real kube-apiserver, an operator
// pointing its webhook configurations at it, and the mirror "hub" in webhook mode, for the tests
// of the webhook.
import { createServer, type Server } from "node:https";
import type { Logger } from "@regmirror/core";
import { listenOnLoopback } from "@regmirror/test-kit";
import {
  type AdmissionWebhook,
  type AdmissionWebhookOptions,
  createAdmissionWebhook,
} from "../../src/operator/index.js";
import {
  mirrorApi,
  type OperatorCluster,
  operatorNamespace,
  startOperatorCluster,
} from "./operator-cluster.js";

export interface WebhookFixture {
  cluster: OperatorCluster;
  webhook: AdmissionWebhook;
  server: Server;
  port: number;
  /** The CA the webhook's first certificate was issued by. */
  caPem: string;
  certificatePem: string;
  stop(): Promise<void>;
}

export async function startWebhookFixture(options: {
  logger: Logger;
  namespaces: string[];
  /** Before the webhook starts (e.g. a certificate Secret to start from). */
  prepare?: (cluster: OperatorCluster) => Promise<void>;
  certificate?: AdmissionWebhookOptions["certificate"];
}): Promise<WebhookFixture> {
  const cluster = await startOperatorCluster();
  await options.prepare?.(cluster);
  let server: Server | undefined;
  const webhook = createAdmissionWebhook({
    kubeConfig: cluster.kubeConfig,
    namespace: operatorNamespace,
    serviceName: "regmirror-operator-webhook",
    extraHosts: ["127.0.0.1"],
    logger: options.logger,
    certificate: options.certificate,
    onRenewed: (tls) => server?.setSecureContext({ key: tls.keyPem, cert: tls.certificatePem }),
  });
  const tls = await webhook.start();
  const serving = createServer(
    { key: tls.keyPem, cert: tls.certificatePem },
    webhook.handleHttpRequest,
  );
  server = serving;
  const port = await listenOnLoopback(serving);
  cluster.startOperator({
    logger: options.logger,
    webhookEndpoint: { url: `https://127.0.0.1:${port}` },
  });
  for (const name of options.namespaces) {
    await cluster.client
      .create({ apiVersion: "v1", kind: "Namespace", metadata: { name } })
      .catch(() => undefined);
  }
  await cluster.client.create({
    ...mirrorApi,
    metadata: { name: "hub" },
    spec: {
      upstreamUrl: "https://registry-1.docker.io",
      nodeConfiguration: { modes: ["webhook"] },
    },
  });
  return {
    cluster,
    webhook,
    server: serving,
    port,
    caPem: tls.caPem,
    certificatePem: tls.certificatePem,
    async stop() {
      serving.closeAllConnections();
      serving.close();
      await webhook.close();
      await cluster.stop();
    },
  };
}
