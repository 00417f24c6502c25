import { describe, expect, test } from "vitest";
import { admissionResponse, parseAdmissionReview } from "./admission-review.js";
import { mirroredImage, originalImagesAnnotation, rewritePodImages } from "./image-rewrite.js";

const rules = {
  mirrorHost: "10.96.0.10",
  registries: new Map([
    ["docker.io", "docker.io"],
    ["127.0.0.1:5000", "127.0.0.1_5000"],
  ]),
};
const digest = `sha256:${"a".repeat(64)}`;

/** Applies the JSON patch operations rewritePodImages makes (replace and add only). */
function applyPatch(pod: Record<string, unknown>, patch: { path: string; value: unknown }[]) {
  const copy = structuredClone(pod);
  for (const operation of patch) {
    const keys = operation.path
      .slice(1)
      .split("/")
      .map((key) => key.replaceAll("~1", "/").replaceAll("~0", "~"));
    const last = keys.pop() as string;
    // biome-ignore lint/suspicious/noExplicitAny: walking a JSON document.
    let target: any = copy;
    for (const key of keys) target = target[key];
    target[last] = operation.value;
  }
  return copy;
}

describe("mirroredImage", () => {
  test.each([
    ["nginx", "10.96.0.10/docker.io/library/nginx:latest"],
    ["nginx:1.27", "10.96.0.10/docker.io/library/nginx:1.27"],
    ["index.docker.io/bitnami/redis:7", "10.96.0.10/docker.io/bitnami/redis:7"],
    [`nginx@${digest}`, `10.96.0.10/docker.io/library/nginx@${digest}`],
    [`nginx:1.27@${digest}`, `10.96.0.10/docker.io/library/nginx:1.27@${digest}`],
    ["127.0.0.1:5000/team/app:v1", "10.96.0.10/127.0.0.1_5000/team/app:v1"],
  ])("%s → %s (normalised as the runtime does, digest kept)", (image, expected) => {
    expect(mirroredImage(image, rules)).toBe(expected);
  });

  test("registries the mirror does not serve, and images already on the mirror, are not rewritten", () => {
    expect(mirroredImage("quay.io/prometheus/prometheus:v3", rules)).toBeUndefined();
    expect(mirroredImage("10.96.0.10/docker.io/library/nginx:latest", rules)).toBeUndefined();
  });
});

describe("rewritePodImages", () => {
  const pod = {
    metadata: { name: "web" },
    spec: {
      initContainers: [{ name: "setup", image: "busybox" }],
      containers: [
        { name: "app", image: "nginx:1.27" },
        { name: "metrics", image: "quay.io/prometheus/node-exporter" },
      ],
      ephemeralContainers: [{ name: "debug", image: `127.0.0.1:5000/tools@${digest}` }],
    },
  };

  test("every container list is rewritten and the originals are recorded in the annotation", () => {
    const result = rewritePodImages(pod, rules);
    const patched = applyPatch(pod, result.patch) as typeof pod & {
      metadata: { annotations: Record<string, string> };
    };
    expect(patched.spec.initContainers[0]?.image).toBe(
      "10.96.0.10/docker.io/library/busybox:latest",
    );
    expect(patched.spec.containers.map((container) => container.image)).toEqual([
      "10.96.0.10/docker.io/library/nginx:1.27",
      "quay.io/prometheus/node-exporter",
    ]);
    expect(patched.spec.ephemeralContainers[0]?.image).toBe(
      `10.96.0.10/127.0.0.1_5000/tools@${digest}`,
    );
    expect(JSON.parse(patched.metadata.annotations[originalImagesAnnotation] ?? "")).toEqual({
      "initContainers/setup": "busybox",
      "containers/app": "nginx:1.27",
      "ephemeralContainers/debug": `127.0.0.1:5000/tools@${digest}`,
    });
    expect(result.warnings).toEqual([]);

    // Idempotent: the rewritten pod needs no patch, and its record stays as it is.
    expect(rewritePodImages(patched, rules).patch).toEqual([]);
  });

  test("a pod that already has annotations gets one more key; only the listed containers are looked at", () => {
    const annotated = { ...pod, metadata: { name: "web", annotations: { team: "a" } } };
    const result = rewritePodImages(annotated, rules, ["ephemeralContainers"]);
    expect(result.patch).toEqual([
      {
        op: "replace",
        path: "/spec/ephemeralContainers/0/image",
        value: `10.96.0.10/127.0.0.1_5000/tools@${digest}`,
      },
      {
        op: "add",
        path: "/metadata/annotations/regmirror.dev~1original-images",
        value: JSON.stringify({ "ephemeralContainers/debug": `127.0.0.1:5000/tools@${digest}` }),
      },
    ]);
  });

  test("an image that cannot be parsed is left as it is with a warning naming it; the others are rewritten", () => {
    const result = rewritePodImages(
      {
        spec: {
          containers: [
            { name: "bad", image: "NGINX::latest" },
            { name: "good", image: "nginx" },
          ],
        },
      },
      rules,
    );
    expect(result.warnings).toEqual([
      expect.stringMatching(
        /^containers\/bad: image "NGINX::latest" left as it is: invalid image reference/,
      ),
    ]);
    expect(result.rewritten).toEqual([
      "containers/good: nginx → 10.96.0.10/docker.io/library/nginx:latest",
    ]);
  });

  test("objects that are not pods, or pods without containers, give no patch", () => {
    for (const object of [undefined, null, "pod", [], {}, { spec: { containers: "nginx" } }]) {
      expect(rewritePodImages(object, rules)).toEqual({ patch: [], rewritten: [], warnings: [] });
    }
  });
});

describe("AdmissionReview", () => {
  test("malformed reviews are refused with a message naming what is wrong", () => {
    expect(() => parseAdmissionReview("{")).toThrow("the body is not JSON");
    expect(() => parseAdmissionReview('{"kind":"Pod"}')).toThrow("not an AdmissionReview");
    expect(() =>
      parseAdmissionReview('{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1beta1"}'),
    ).toThrow('apiVersion "admission.k8s.io/v1beta1" is not admission.k8s.io/v1');
    expect(() =>
      parseAdmissionReview('{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1"}'),
    ).toThrow("no request.uid");
  });

  test("the answer always admits; the patch is base64 JSON and warnings say who speaks", () => {
    const answer = JSON.parse(
      admissionResponse("u1", [{ op: "replace", path: "/a", value: 1 }], ["x"]),
    );
    expect(answer.response).toMatchObject({
      uid: "u1",
      allowed: true,
      patchType: "JSONPatch",
      warnings: ["regmirror: x"],
    });
    expect(JSON.parse(Buffer.from(answer.response.patch, "base64").toString())).toEqual([
      { op: "replace", path: "/a", value: 1 },
    ]);
    expect(JSON.parse(admissionResponse("u2", [], [])).response).toEqual({
      uid: "u2",
      allowed: true,
    });
  });
});
