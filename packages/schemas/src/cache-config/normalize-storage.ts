// Storage and the size cap, from distribution's keys or `regmirror.storage`.
import type { CacheConfigFile } from "./cache-config-schema.js";
import { cacheConfigDefaults } from "./default-cache-config.js";
import type {
  EffectiveCacheConfig,
  S3Credentials,
  StorageConfig,
} from "./effective-cache-config.js";
import { type ProblemCollector, pickOne } from "./problem-collector.js";

type DistributionS3 = NonNullable<NonNullable<CacheConfigFile["storage"]>["s3"]>;
type NativeStorage = NonNullable<NonNullable<CacheConfigFile["regmirror"]>["storage"]>;
type NativeS3 = NonNullable<NativeStorage["s3"]>;

/** One backend, from storage.filesystem / storage.s3 (distribution) or regmirror.storage. */
export function normalizeStorage(file: CacheConfigFile, problems: ProblemCollector): StorageConfig {
  const native = file.regmirror?.storage;
  const filesystem = (rootDirectory: string | undefined): StorageConfig | undefined =>
    rootDirectory === undefined ? undefined : { kind: "filesystem", rootDirectory };
  return (
    pickOne<StorageConfig>(problems, "the storage backend", [
      [["regmirror", "storage", "filesystem"], filesystem(native?.filesystem?.rootDirectory)],
      [["regmirror", "storage", "s3"], native?.s3 && nativeS3(native.s3, problems)],
      [["storage", "filesystem"], filesystem(file.storage?.filesystem?.rootdirectory)],
      [["storage", "s3"], file.storage?.s3 && distributionS3(file.storage.s3, problems)],
    ]) ?? { kind: "filesystem", rootDirectory: cacheConfigDefaults.rootDirectory }
  );
}

export function normalizeSizeCap(
  file: CacheConfigFile,
  problems: ProblemCollector,
): EffectiveCacheConfig["sizeCap"] {
  const storage = file.regmirror?.storage;
  const maxBytes = storage?.maxSize;
  const lowWater = storage?.lowWater;
  if (maxBytes === undefined) {
    if (lowWater !== undefined)
      problems.add(["regmirror", "storage", "lowWater"], "maxSize to be set too");
    return null;
  }
  if (maxBytes === 0) {
    problems.add(
      ["regmirror", "storage", "maxSize"],
      "a size above 0 (leave maxSize out for no cap)",
    );
    return null;
  }
  let lowWaterBytes = Math.floor((maxBytes * cacheConfigDefaults.lowWaterPercent) / 100);
  if (lowWater !== undefined) {
    lowWaterBytes =
      "bytes" in lowWater ? lowWater.bytes : Math.floor((maxBytes * lowWater.percent) / 100);
  }
  if (lowWaterBytes >= maxBytes) {
    problems.add(
      ["regmirror", "storage", "lowWater"],
      "a size below maxSize, or a percentage under 100%",
    );
  }
  return { maxBytes, lowWaterBytes };
}

/** A SigV4 presigned URL lives at most 7 days. */
const maximumRedirectExpiryMs = 7 * 24 * 3_600_000;

/**
 * Blob redirects: `regmirror.storage.redirect` or distribution's `storage.redirect.disable`.
 * Off unless asked for, unlike distribution's S3 driver: a cache whose clients cannot reach the
 * bucket must keep working (docs/adr/0038-s3-redirect-and-shared-sweeps.md).
 */
export function normalizeBlobRedirect(
  file: CacheConfigFile,
  storage: StorageConfig,
  problems: ProblemCollector,
): EffectiveCacheConfig["blobRedirect"] {
  const native = file.regmirror?.storage?.redirect;
  const disable = file.storage?.redirect?.disable;
  const nativePath = ["regmirror", "storage", "redirect", "enabled"];
  const distributionPath = ["storage", "redirect", "disable"];
  const enabled =
    pickOne<boolean>(problems, "whether blobs redirect", [
      [nativePath, native?.enabled],
      [distributionPath, disable === undefined ? undefined : !disable],
    ]) ?? false;
  const expiryMs = native?.expiry ?? cacheConfigDefaults.blobRedirectExpiryMs;
  if (!enabled) {
    if (native?.expiry !== undefined) {
      problems.add(
        ["regmirror", "storage", "redirect", "expiry"],
        "redirects turned on (enabled: true) for an expiry to apply",
      );
    }
    return null;
  }
  const enabledAt = native?.enabled === undefined ? distributionPath : nativePath;
  if (storage.kind !== "s3") {
    problems.add(
      enabledAt,
      "S3 storage for redirects (a filesystem store has no URL to send clients to)",
    );
    return null;
  }
  if (expiryMs < 1000 || expiryMs > maximumRedirectExpiryMs) {
    problems.add(
      ["regmirror", "storage", "redirect", "expiry"],
      "a duration from 1s to 7d (the longest a presigned S3 URL can live)",
    );
    return null;
  }
  return { expiryMs };
}

function nativeS3(s3: NativeS3, problems: ProblemCollector): StorageConfig {
  const path = ["regmirror", "storage", "s3", "credentials"];
  const given = s3.credentials;
  let credentials: S3Credentials = { mode: "env" };
  if (given !== undefined) {
    const allowedByMode = {
      static: ["accessKeyId", "secretAccessKey", "sessionToken"],
      env: [],
      "web-identity": ["roleArn", "tokenFile"],
    } as const;
    const allowed: readonly string[] = allowedByMode[given.mode];
    for (const key of [
      "accessKeyId",
      "secretAccessKey",
      "sessionToken",
      "roleArn",
      "tokenFile",
    ] as const) {
      if (given[key] !== undefined && !allowed.includes(key)) {
        problems.add([...path, key], `no ${key} with mode ${given.mode}`);
      }
    }
    if (given.mode === "static") {
      if (given.accessKeyId === undefined)
        problems.add([...path, "accessKeyId"], "an access key id for mode static");
      if (given.secretAccessKey === undefined) {
        problems.add([...path, "secretAccessKey"], "a secret access key for mode static");
      }
      if (given.accessKeyId !== undefined && given.secretAccessKey !== undefined) {
        credentials = {
          mode: "static",
          accessKeyId: given.accessKeyId,
          secretAccessKey: given.secretAccessKey,
          sessionToken: given.sessionToken ?? null,
        };
      }
    } else if (given.mode === "web-identity") {
      credentials = {
        mode: "web-identity",
        roleArn: given.roleArn ?? null,
        tokenFile: given.tokenFile ?? null,
      };
    }
  }
  return {
    kind: "s3",
    bucket: s3.bucket,
    region: s3.region ?? cacheConfigDefaults.s3Region,
    endpoint: s3.endpoint ?? null,
    forcePathStyle: s3.forcePathStyle ?? false,
    prefix: trimSlashes(s3.prefix ?? ""),
    credentials,
  };
}

/** distribution's s3 driver: static keys when given, else the SDK's default chain. */
function distributionS3(s3: DistributionS3, problems: ProblemCollector): StorageConfig {
  let credentials: S3Credentials = { mode: "env" };
  if (s3.accesskey !== undefined && s3.secretkey !== undefined) {
    credentials = {
      mode: "static",
      accessKeyId: s3.accesskey,
      secretAccessKey: s3.secretkey,
      sessionToken: s3.sessiontoken ?? null,
    };
  } else if (s3.accesskey !== undefined) {
    problems.add(["storage", "s3", "secretkey"], "a secret key next to accesskey");
  } else if (s3.secretkey !== undefined) {
    problems.add(["storage", "s3", "accesskey"], "an access key next to secretkey");
  }
  return {
    kind: "s3",
    bucket: s3.bucket,
    region: s3.region,
    endpoint: s3.regionendpoint ?? null,
    forcePathStyle: s3.forcepathstyle ?? false,
    prefix: trimSlashes(s3.rootdirectory ?? ""),
    credentials,
  };
}

function trimSlashes(text: string): string {
  return text.replace(/^\/+|\/+$/g, "");
}
