// The webhook's counters and their Prometheus text: admission requests, rewritten images, failures.
import { escapeLabel, metric } from "../operator-metrics.js";

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
  const requests = new Map<string, number>();
  const images = new Map<string, number>();
  const failures = new Map<string, number>();
  const add = (counts: Map<string, number>, key: string, by: number) =>
    counts.set(key, (counts.get(key) ?? 0) + by);
  return {
    request: (mirror, result) => add(requests, JSON.stringify([mirror, result]), 1),
    imagesRewritten: (mirror, count) => {
      if (count > 0) add(images, mirror, count);
    },
    failure: (reason) => add(failures, reason, 1),
    render() {
      const blocks = [
        metric(
          "regmirror_operator_webhook_requests_total",
          "counter",
          "Pods the admission webhook answered for, by mirror and result (rewritten, unchanged, excluded).",
          [...requests].map(([key, count]) => {
            const [mirror, result] = JSON.parse(key) as [string, string];
            return `regmirror_operator_webhook_requests_total{mirror="${escapeLabel(mirror)}",result="${result}"} ${count}`;
          }),
        ),
        metric(
          "regmirror_operator_webhook_image_rewrites_total",
          "counter",
          "Container images the webhook pointed at the mirror, by mirror.",
          [...images].map(
            ([mirror, count]) =>
              `regmirror_operator_webhook_image_rewrites_total{mirror="${escapeLabel(mirror)}"} ${count}`,
          ),
        ),
        metric(
          "regmirror_operator_webhook_failures_total",
          "counter",
          "Admission requests or images the webhook could not rewrite and admitted unchanged, by reason.",
          [...failures].map(
            ([reason, count]) =>
              `regmirror_operator_webhook_failures_total{reason="${reason}"} ${count}`,
          ),
        ),
      ];
      return `${blocks.join("\n")}\n`;
    },
  };
}
