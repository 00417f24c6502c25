// Keeps the webhook's serving certificate fresh while the operator runs: at the time it is due
// (and at least hourly, to pick up a certificate another replica renewed) the certificate Secret
// is checked again; a new certificate goes to the live TLS server, and a new CA into the webhook
// configurations first, so the API server trusts the certificate it is about to be shown.
import { type Clock, describeError, type Logger, sleep } from "@regmirror/core";
import { renewalDueMs, type WebhookTls } from "../kube/webhook-certificate.js";

/** Looked at again at least this often; after a failed renewal, tried again this soon. */
const longestWaitMs = 60 * 60 * 1000;
const retryAfterFailureMs = 60 * 1000;

export interface CertificateRenewalOptions {
  current: WebhookTls;
  renewBeforeMs: number;
  /** The certificate as the Secret has it now, renewed when due (ensureWebhookCertificate). */
  ensure(nowMs: number): Promise<WebhookTls>;
  /** The CA changed: make the webhook configurations trust `caBundlePem` before the switch. */
  trustCa(caBundlePem: string): Promise<void>;
  /** The serving certificate changed: serve with it. */
  serve(tls: WebhookTls): void;
  clock: Clock;
  logger: Logger;
}

export interface CertificateRenewal {
  stop(): Promise<void>;
}

export function startCertificateRenewal(options: CertificateRenewalOptions): CertificateRenewal {
  const { clock, logger } = options;
  const stopping = new AbortController();
  let current = options.current;

  async function renewOnce(): Promise<void> {
    const next = await options.ensure(clock.now());
    if (next.certificatePem === current.certificatePem) return;
    if (next.caPem !== current.caPem) {
      // Both CAs while the servers switch: replicas still showing the old certificate are trusted.
      await options.trustCa(`${next.caPem.trimEnd()}\n${current.caPem.trimEnd()}\n`);
    }
    options.serve(next);
    logger.info(
      { caChanged: next.caPem !== current.caPem },
      "webhook: serving a renewed certificate",
    );
    current = next;
  }

  const running = (async () => {
    let waitMs = 0;
    while (!stopping.signal.aborted) {
      const dueInMs = renewalDueMs(current, options.renewBeforeMs) - clock.now();
      // At least a second: a certificate still due after a renewal is never a busy loop.
      waitMs = Math.min(Math.max(waitMs, dueInMs, 1000), longestWaitMs);
      await sleep(clock, waitMs, stopping.signal);
      if (stopping.signal.aborted) return;
      try {
        await renewOnce();
        waitMs = 0;
      } catch (error) {
        logger.error(
          { error: describeError(error), retryInMs: retryAfterFailureMs },
          "webhook: could not renew the serving certificate",
        );
        waitMs = retryAfterFailureMs;
      }
    }
  })();

  return {
    async stop() {
      stopping.abort();
      await running;
    },
  };
}
