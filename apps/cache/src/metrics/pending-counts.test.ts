import { expect, test } from "vitest";
import { createCacheMetrics } from "./cache-metrics.js";

function seriesOf(text: string, name: string): string[] {
  return text.split("\n").filter((line) => line.startsWith(`${name}{`));
}

test("counts kept between scrapes show in the next scrape, once, under their own labels", async () => {
  const metrics = createCacheMetrics();
  metrics.requestFinished("manifest", "GET", 200, 0.001);
  metrics.requestFinished("manifest", "GET", 200, 0.001);
  metrics.requestFinished("manifest", "HEAD", 200, 0.001);
  metrics.requestFinished("manifest", "GET", 404, 0.001);
  metrics.requestFinished("blob", "GET", 200, 0.001);
  metrics.bytesSent("manifest", 1000);
  metrics.bytesSent("manifest", 24);
  metrics.bytesSent("blob", 0);
  metrics.pullThrough.cacheHit("manifest");

  const first = (await metrics.render()).body;
  expect(seriesOf(first, "regmirror_cache_http_requests_total").sort()).toEqual([
    'regmirror_cache_http_requests_total{route="blob",method="GET",status="200"} 1',
    'regmirror_cache_http_requests_total{route="manifest",method="GET",status="200"} 2',
    'regmirror_cache_http_requests_total{route="manifest",method="GET",status="404"} 1',
    'regmirror_cache_http_requests_total{route="manifest",method="HEAD",status="200"} 1',
  ]);
  expect(seriesOf(first, "regmirror_cache_http_response_bytes_total")).toEqual([
    'regmirror_cache_http_response_bytes_total{route="manifest"} 1024',
  ]);
  expect(seriesOf(first, "regmirror_cache_hits_total")).toEqual([
    'regmirror_cache_hits_total{kind="manifest"} 1',
  ]);

  // A second scrape adds only what came since the first.
  metrics.requestFinished("manifest", "GET", 200, 0.001);
  const second = (await metrics.render()).body;
  expect(seriesOf(second, "regmirror_cache_http_requests_total")).toContain(
    'regmirror_cache_http_requests_total{route="manifest",method="GET",status="200"} 3',
  );
  expect(seriesOf(second, "regmirror_cache_http_response_bytes_total")).toEqual([
    'regmirror_cache_http_response_bytes_total{route="manifest"} 1024',
  ]);
});
