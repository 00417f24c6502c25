// The webhook's serving certificate is renewed while the operator runs, against a real
// kube-apiserver: with a certificate that lives seconds, the live TLS server is given each new
// one, and when the CA itself must change the webhook configuration trusts the new CA and the
// API server keeps calling the webhook.
import { X509Certificate } from "node:crypto";
import { connect } from "node:tls";
import { capturingLogger } from "@regmirror/core/testing";
import type { KubeObject } from "@regmirror/k8s-reconciler";
import { eventually } from "@regmirror/test-kit";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  caLifetimeMs,
  createCertificateAuthority,
  issueServingCertificate,
} from "../../src/operator/render/certificate-authority.js";
import { webhookCertificateSecretName } from "../../src/operator/render/object-names.js";
import type { Json } from "./operator-cluster.js";
import { type OperatorCluster, operatorNamespace } from "./operator-cluster.js";
import { startWebhookFixture, type WebhookFixture } from "./webhook-fixture.js";

const logger = capturingLogger();
/** A serving certificate lives 10 s and is replaced 6 s before its end: every 4 s. */
const certificate = { lifetimeMs: 10_000, renewBeforeMs: 6_000 };
/** The CA in place at the start ends in 25 s: too soon for a certificate issued after ~15 s. */
const oldCaLifetimeLeftMs = 25_000;
const base64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
const fromBase64 = (text: string | undefined) => Buffer.from(text ?? "", "base64").toString("utf8");

let fixture: WebhookFixture;
let cluster: OperatorCluster;
let port: number;
let oldCaPem: string;
let firstCertificatePem: string;

/** The certificate a new TLS connection to the webhook is shown, as PEM. */
function presentedCertificate(): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.destroy();
      resolve(new X509Certificate(raw).toString());
    });
    socket.once("error", reject);
  });
}

const samePem = (a: string, b: string) =>
  new X509Certificate(a).fingerprint256 === new X509Certificate(b).fingerprint256;

/** The webhook's certificate Secret, as the API server has it now. */
function certificateSecret(): Promise<Json> {
  return cluster.client.get<Json>({
    apiVersion: "v1",
    kind: "Secret",
    namespace: operatorNamespace,
    name: webhookCertificateSecretName,
  });
}

/** The Secret starts with a CA near its end (made as if long ago). */
async function seedOldCa(cluster: OperatorCluster): Promise<void> {
  const oldCa = await createCertificateAuthority(
    "regmirror operator webhook CA",
    Date.now() - caLifetimeMs + oldCaLifetimeLeftMs,
  );
  oldCaPem = oldCa.certificatePem;
  // Its serving certificate names another host: the webhook issues its own from this CA.
  const other = await issueServingCertificate(oldCa, ["other.invalid"], Date.now(), 60_000);
  await cluster.client.create({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: webhookCertificateSecretName, namespace: operatorNamespace },
    type: "kubernetes.io/tls",
    data: {
      "ca.crt": base64(oldCa.certificatePem),
      "ca.key": base64(oldCa.keyPem),
      "tls.crt": base64(other.certificatePem),
      "tls.key": base64(other.keyPem),
    },
  });
}

beforeAll(async () => {
  fixture = await startWebhookFixture({
    logger,
    namespaces: ["shop"],
    prepare: seedOldCa,
    certificate,
  });
  ({ cluster, port, certificatePem: firstCertificatePem } = fixture);
});

afterAll(async () => {
  await fixture?.stop();
});

let podCount = 0;
async function createdPodImage(): Promise<string | undefined> {
  podCount += 1;
  const pod = await cluster.client.create<KubeObject>({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: `renewal-${podCount}`, namespace: "shop" },
    spec: { containers: [{ name: "app", image: "nginx" }] },
  });
  return (pod.spec as Json).containers[0]?.image;
}

describe("the webhook's serving certificate while the operator runs", () => {
  it("starts from the Secret's CA, and the live server is given each renewed certificate", async () => {
    expect(
      new X509Certificate(firstCertificatePem).checkIssued(new X509Certificate(oldCaPem)),
    ).toBe(true);
    expect(samePem(await presentedCertificate(), firstCertificatePem)).toBe(true);
    const renewed = await eventually(async () => {
      const presented = await presentedCertificate();
      expect(samePem(presented, firstCertificatePem)).toBe(false);
      return presented;
    }, 45_000);
    // The renewed certificate is the one the Secret holds, for every replica to read.
    const secret = await certificateSecret();
    const held = fromBase64(secret.data["tls.crt"]);
    expect(new X509Certificate(held).validToDate.getTime()).toBeGreaterThanOrEqual(
      new X509Certificate(renewed).validToDate.getTime(),
    );
  });

  it("a new CA goes into the webhook configuration, and the API server keeps calling the webhook", async () => {
    const newCaPem = await eventually(async () => {
      const secret = await certificateSecret();
      const caPem = fromBase64(secret.data["ca.crt"]);
      expect(samePem(caPem, oldCaPem)).toBe(false);
      return caPem;
    }, 90_000);
    await eventually(async () => {
      const configuration = await cluster.client.get<Json>({
        apiVersion: "admissionregistration.k8s.io/v1",
        kind: "MutatingWebhookConfiguration",
        name: "regmirror-hub",
      });
      expect(fromBase64(configuration.webhooks[0].clientConfig.caBundle)).toContain(
        newCaPem.trim(),
      );
    }, 30_000);
    // The server now shows a certificate of the new CA, and the API server trusts it.
    await eventually(async () => {
      const presented = new X509Certificate(await presentedCertificate());
      expect(presented.checkIssued(new X509Certificate(newCaPem))).toBe(true);
    }, 30_000);
    await eventually(async () => {
      expect(await createdPodImage()).toMatch(/\/docker\.io\/library\/nginx:latest$/);
    }, 30_000);
    expect(logger.entries.map((entry) => entry.message)).toContain(
      "webhook: serving a renewed certificate",
    );
    expect(logger.entries.map((entry) => entry.message)).not.toContain(
      "webhook: could not renew the serving certificate",
    );
  }, 180_000);
});
