// The webhook's counters and their Prometheus text: admission requests, rewritten images, failures.
import { createLabelledCounter } from "../operator-metrics.js";

export type WebhookRequestResult = "rewritten" | "unchanged" | "excluded";
export type WebhookFailure =
  | "malformed-review"
  | "not-a-pod"
  | "unknown-mirror"
  | "unparseable-image"
  | "internal";

export interface WebhookCounters {
  request(mirror: string, result: WebhookRequestResult): void;
  imagesRewritten(mirror: string, count: number): void;
  failure(reason: WebhookFailure): void;
  /** Prometheus text of every counter. */
  render(): string;
}

export function createWebhookCounters(): WebhookCounters {
  const requests = createLabelledCounter(
    "regmirror_operator_webhook_requests_total",
    "Pods the admission webhook answered for, by mirror and result (rewritten, unchanged, excluded).",
    ["mirror", "result"],
  );
  const images = createLabelledCounter(
    "regmirror_operator_webhook_image_rewrites_total",
    "Container images the webhook pointed at the mirror, by mirror.",
    ["mirror"],
  );
  const failures = createLabelledCounter(
    "regmirror_operator_webhook_failures_total",
    "Admission requests or images the webhook could not rewrite and admitted unchanged, by reason.",
    ["reason"],
  );
  return {
    request: (mirror, result) => requests.add([mirror, result]),
    imagesRewritten: (mirror, count) => {
      if (count > 0) images.add([mirror], count);
    },
    failure: (reason) => failures.add([reason]),
    render: () => `${[requests, images, failures].map((counter) => counter.render()).join("\n")}\n`,
  };
}
