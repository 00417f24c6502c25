/**
 * The status page's HTML, rendered on the server from a snapshot: the whole page, or only its
 * <main> for the page's script to swap in (one renderer, no client-side templates). Every value
 * from outside (names, errors) is escaped. Numbers carry their exact value in `data-value`.
 */
import { formatBytes } from "../cli/inventory-format.js";
import type { StatusSnapshot } from "./status-snapshot.js";

function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (character) =>
      ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[character] ?? "",
  );
}

/** A number shown in words, with its exact value for scripts and tests. */
function value(field: string, exact: number, shown = String(exact)): string {
  return `<span data-field="${field}" data-value="${exact}">${escapeHtml(shown)}</span>`;
}

function percent(ratio: number | undefined): string {
  return ratio === undefined ? "–" : `${(ratio * 100).toFixed(1)} %`;
}

function duration(ms: number): string {
  const hours = ms / 3_600_000;
  return hours >= 48 ? `${Math.round(hours / 24)} days` : `${Math.round(hours)} h`;
}

function ago(now: number, at: number | undefined): string {
  if (at === undefined) return "never";
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  return seconds < 120 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
}

function section(title: string, body: string): string {
  return `<section><h2>${escapeHtml(title)}</h2>${body}</section>`;
}

function requestsSection(snapshot: StatusSnapshot): string {
  const { requests } = snapshot;
  return section(
    "Hits",
    `<p class="big">${value("blob-hit-ratio", requests.blobHitRatio ?? -1, percent(requests.blobHitRatio))}</p>
<dl>
<dt>blob hits</dt><dd>${value("blob-hits", requests.blobHits)}</dd>
<dt>blob misses</dt><dd>${value("blob-misses", requests.blobMisses)}</dd>
<dt>manifest hits</dt><dd>${value("manifest-hits", requests.manifestHits)}</dd>
<dt>manifest misses</dt><dd>${value("manifest-misses", requests.manifestMisses)}</dd>
<dt>clients that joined a download</dt><dd>${value("coalesced-waiters", requests.coalescedWaiters)}</dd>
</dl>`,
  );
}

function bytesSection(snapshot: StatusSnapshot): string {
  const { bytes } = snapshot;
  const bytesValue = (field: string, exact: number) => value(field, exact, formatBytes(exact));
  return section(
    "Bytes",
    `<dl>
<dt>served to clients</dt><dd>${bytesValue("bytes-served", bytes.servedToClients)}</dd>
<dt>fetched from upstreams</dt><dd>${bytesValue("bytes-fetched", bytes.fetchedFromUpstream)}</dd>
<dt>spared upstream (served from the store)</dt><dd>${bytesValue("bytes-spared", bytes.servedFromStore)}</dd>
</dl>`,
  );
}

function fillsSection(snapshot: StatusSnapshot): string {
  if (snapshot.fills.length === 0) {
    return section("Downloads in progress", `<p class="quiet" data-field="no-fills">none</p>`);
  }
  const rows = snapshot.fills.map((fill) => {
    const size = fill.size ?? 0;
    const done = size > 0 ? fill.received / size : 0;
    return `<li class="fill" data-digest="${escapeHtml(fill.digest)}">
<div>${escapeHtml(fill.name)} <code>${escapeHtml(fill.digest.slice(0, 19))}</code></div>
<progress max="${size}" value="${fill.received}">${percent(done)}</progress>
<div class="quiet">${value("fill-received", fill.received, formatBytes(fill.received))} of ${fill.size === undefined ? "?" : formatBytes(fill.size)} · ${value("fill-clients", fill.clients)} waiting clients · started ${ago(snapshot.generatedAt, fill.startedAt)}</div>
</li>`;
  });
  return section("Downloads in progress", `<ul class="fills">${rows.join("")}</ul>`);
}

function upstreamsSection(snapshot: StatusSnapshot): string {
  const items = snapshot.upstreams.map((upstream) => {
    const endpoints = upstream.endpoints.map(
      (endpoint) => `<li data-endpoint="${escapeHtml(endpoint.endpoint)}">
<span class="state ${endpoint.up ? "up" : "down"}">${endpoint.up ? "up" : "down"}</span> <span class="quiet">(circuit ${escapeHtml(endpoint.state)})</span> ${escapeHtml(endpoint.endpoint)}
<div class="quiet">latency ${endpoint.lastLatencyMs === undefined ? "–" : `${Math.round(endpoint.lastLatencyMs)} ms`} · last answer ${ago(snapshot.generatedAt, endpoint.lastAnswerAt)}${
        endpoint.lastError === undefined
          ? ""
          : ` · last error (${escapeHtml(endpoint.lastError.kind)}, ${ago(snapshot.generatedAt, endpoint.lastError.at)}): ${escapeHtml(endpoint.lastError.message)}`
      }</div></li>`,
    );
    const limit = upstream.rateLimit;
    const rateLimit =
      limit?.remaining === undefined
        ? `<p class="quiet">no rate limit announced</p>`
        : `<p${limit.low ? ' class="warn"' : ""}>rate limit: ${value("ratelimit-remaining", limit.remaining)} of ${limit.limit ?? "?"} pulls left${
            limit.windowSeconds === undefined ? "" : ` per ${duration(limit.windowSeconds * 1000)}`
          } · headroom ${limit.headroomPulls ?? "?"}${
            limit.backOffUntil === undefined
              ? ""
              : ` · backing off after a 429 for ${Math.ceil((limit.backOffUntil - snapshot.generatedAt) / 1000)} s`
          }</p>`;
    return `<li data-upstream="${escapeHtml(upstream.name)}"><h3>${escapeHtml(upstream.name)}</h3><ul>${endpoints.join("")}</ul>${rateLimit}</li>`;
  });
  return section("Upstreams", `<ul class="upstreams">${items.join("")}</ul>`);
}

function storeSection(snapshot: StatusSnapshot): string {
  const { store } = snapshot;
  const cap =
    store.maxBytes === null
      ? " · no size cap"
      : ` of a ${formatBytes(store.maxBytes)} cap</p><p><progress max="${store.maxBytes}" value="${store.bytes}"></progress>`;
  return section(
    "Store",
    `<p>${value("store-bytes", store.bytes, formatBytes(store.bytes))} in ${value("store-blobs", store.blobs)} blobs${cap}</p>
<p class="quiet">TTL ${store.ttlMs === null ? "none" : duration(store.ttlMs)}, refreshed on every pull</p>`,
  );
}

function topImagesSection(snapshot: StatusSnapshot): string {
  if (snapshot.topImages.length === 0) {
    return section("Most pulled", `<p class="quiet">no pulls yet</p>`);
  }
  const items = snapshot.topImages.map(
    (image) =>
      `<li data-image="${escapeHtml(image.name)}">${escapeHtml(image.name)} <span class="quiet">${value("pulls", image.pulls)} pulls</span></li>`,
  );
  return section("Most pulled (by tag, since start)", `<ol>${items.join("")}</ol>`);
}

function peersSection(snapshot: StatusSnapshot): string {
  const { peers } = snapshot;
  if (peers === null) return "";
  const member = peers.members.some((entry) => entry.self);
  const items = peers.members.map(
    (entry) =>
      `<li data-peer="${escapeHtml(entry.url)}"><span class="state up">ready</span> ${escapeHtml(entry.url)}${
        entry.self
          ? " <strong>(this replica)</strong>"
          : ` <span class="quiet">${value("peer-hits", entry.hits)} blobs from it · ${value("peer-misses", entry.misses)} failed asks</span>`
      }</li>`,
  );
  return section(
    "Replicas",
    `<p>${value("peer-members", peers.members.length)} ready members · this replica owns ${value("peer-share", peers.share, percent(peers.share))} of the digests</p>
${member ? "" : `<p class="warn">this replica (${escapeHtml(peers.self)}) is no member yet: it asks the members for all it misses</p>`}
<ul>${items.join("")}</ul>`,
  );
}

/** With several workers: how many the counts cover (the others' as of their last answer). */
function workersNote(snapshot: StatusSnapshot): string {
  const { workers } = snapshot;
  if (workers === null) return "";
  return ` · counts from ${value("workers-answered", workers.answered)} of ${value("workers", workers.count)} workers`;
}

/** The part of the page that changes: swapped in whole by the script at each poll. */
export function renderStatusMain(snapshot: StatusSnapshot): string {
  const warnings =
    snapshot.warnings.length === 0
      ? ""
      : `<ul class="warnings" role="alert">${snapshot.warnings.map((warning) => `<li>${escapeHtml(warning)}</li>`).join("")}</ul>`;
  return `${warnings}<p class="quiet">as of <time data-field="generated-at" data-value="${snapshot.generatedAt}">${new Date(snapshot.generatedAt).toISOString()}</time>${workersNote(snapshot)}</p>
<div class="grid">${[
    requestsSection(snapshot),
    bytesSection(snapshot),
    fillsSection(snapshot),
    upstreamsSection(snapshot),
    storeSection(snapshot),
    topImagesSection(snapshot),
    peersSection(snapshot),
  ].join("\n")}</div>`;
}

const style = `body{font:15px/1.4 system-ui,sans-serif;margin:0;padding:1rem;background:#f6f7f9;color:#1d2330}
h1{font-size:1.3rem;margin:0 0 .5rem}h2{font-size:1rem;margin:0 0 .5rem}h3{font-size:.95rem;margin:.2rem 0}
.grid{display:grid;gap:1rem;grid-template-columns:repeat(auto-fit,minmax(min(100%,20rem),1fr))}
section{background:#fff;border-radius:8px;padding:.8rem 1rem;box-shadow:0 1px 2px #0002;overflow-wrap:anywhere}
dl{display:grid;grid-template-columns:1fr auto;gap:.2rem .8rem;margin:0}dd{margin:0;text-align:right;font-variant-numeric:tabular-nums}
ul,ol{padding-left:1.1rem;margin:0}.fills,.upstreams{list-style:none;padding:0}.fill{margin-bottom:.6rem}
progress{width:100%}.big{font-size:2rem;margin:0 0 .4rem}.quiet{color:#5b6472;font-size:.85rem}
.warnings{background:#fff4e5;border:1px solid #f0a33a;border-radius:8px;padding:.6rem 1.6rem;margin-bottom:1rem}
.warn{color:#9a5b00}.state{font-weight:600}.up{color:#1a7f37}.down{color:#c62828}code{font-size:.8rem}`;

export function renderStatusPage(snapshot: StatusSnapshot, pagePath: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>regmirror cache status</title>
<style>${style}</style>
<script src="${escapeHtml(pagePath)}/script.js" defer></script>
</head><body data-page="${escapeHtml(pagePath)}">
<h1>regmirror cache</h1>
<main>${renderStatusMain(snapshot)}</main>
</body></html>
`;
}
