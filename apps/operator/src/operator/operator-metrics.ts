// The operator's metrics in the Prometheus text format (GET /metrics): leadership, health, the
// mirrors by owning installation (another installation shows up here), reconciles and the queue.

export interface OperatorStatus {
  /** "namespace/lease": what this installation writes into the claims it makes. */
  installation: string;
  identity: string;
  leader: boolean;
  informersSynced: boolean;
  queueDepth: number;
  /** Mirrors in the cache by owning installation; "" for mirrors nobody has claimed yet. */
  mirrorsByOwner: Record<string, number>;
  reconciles: { success: number; error: number };
  /** Why /healthz fails; empty when healthy. */
  problems: string[];
}

export function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

export function metric(
  name: string,
  type: "gauge" | "counter",
  help: string,
  samples: string[],
): string {
  return [`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...samples].join("\n");
}

export function renderOperatorMetrics(status: OperatorStatus): string {
  const others = Object.keys(status.mirrorsByOwner).filter(
    (owner) => owner !== "" && owner !== status.installation,
  );
  const blocks = [
    metric(
      "regmirror_operator_info",
      "gauge",
      "Always 1; names this installation (namespace/lease) and process.",
      [
        `regmirror_operator_info{installation="${escapeLabel(status.installation)}",identity="${escapeLabel(status.identity)}"} 1`,
      ],
    ),
    metric("regmirror_operator_leader", "gauge", "1 while this process reconciles.", [
      `regmirror_operator_leader ${status.leader ? 1 : 0}`,
    ]),
    metric(
      "regmirror_operator_healthy",
      "gauge",
      "0 when the controller is stuck (/healthz fails).",
      [`regmirror_operator_healthy ${status.problems.length === 0 ? 1 : 0}`],
    ),
    metric(
      "regmirror_operator_mirrors",
      "gauge",
      'RegistryMirrors by the installation that owns them (owner="" : not claimed yet).',
      Object.entries(status.mirrorsByOwner).map(
        ([owner, count]) => `regmirror_operator_mirrors{owner="${escapeLabel(owner)}"} ${count}`,
      ),
    ),
    metric(
      "regmirror_operator_other_installations",
      "gauge",
      "Other regmirror-operator installations that own mirrors in this cluster (this one leaves their mirrors alone).",
      [`regmirror_operator_other_installations ${others.length}`],
    ),
    metric(
      "regmirror_operator_reconciles_total",
      "counter",
      "Reconciles since start, by result (a mirror another installation owns counts too: it is looked at and left alone).",
      [
        `regmirror_operator_reconciles_total{result="success"} ${status.reconciles.success}`,
        `regmirror_operator_reconciles_total{result="error"} ${status.reconciles.error}`,
      ],
    ),
    metric("regmirror_operator_workqueue_depth", "gauge", "Mirrors queued for a reconcile.", [
      `regmirror_operator_workqueue_depth ${status.queueDepth}`,
    ]),
  ];
  return `${blocks.join("\n")}\n`;
}

export interface LabelledCounter {
  add(labelValues: readonly string[], by?: number): void;
  get(labelValues: readonly string[]): number;
  /** The counter's HELP, TYPE and one sample per set of label values seen. */
  render(): string;
}

/** A Prometheus counter with labels, kept in memory (the webhook's and warm-ahead's). */
export function createLabelledCounter(
  name: string,
  help: string,
  labelNames: readonly string[],
): LabelledCounter {
  const counts = new Map<string, number>();
  const keyOf = (labelValues: readonly string[]) => JSON.stringify(labelValues);
  return {
    add(labelValues, by = 1) {
      const key = keyOf(labelValues);
      counts.set(key, (counts.get(key) ?? 0) + by);
    },
    get: (labelValues) => counts.get(keyOf(labelValues)) ?? 0,
    render: () =>
      metric(
        name,
        "counter",
        help,
        [...counts].map(([key, count]) => {
          const values = JSON.parse(key) as string[];
          const labels = labelNames.map(
            (label, index) => `${label}="${escapeLabel(values[index] ?? "")}"`,
          );
          return `${name}{${labels.join(",")}} ${count}`;
        }),
      ),
  };
}
