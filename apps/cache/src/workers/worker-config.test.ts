import { loadCacheConfigFromYaml, SecretValue } from "@regmirror/schemas";
import { expect, test } from "vitest";
import { configForWorkers, configFromStartMessage, type WorkerConfig } from "./worker-config.js";
import type { StartMessage } from "./worker-messages.js";

const secrets = {
  upstream: "upstream-password-1",
  http: "http-secret-of-the-cache-0123456789",
  admin: "admin-password-2",
  peers: "c2hhcmVkLWJ5LWV2ZXJ5LXJlcGxpY2Etb2YtdGhlLWNhY2hl",
};

const config = loadCacheConfigFromYaml(`http:
  addr: 127.0.0.1:5000
  secret: ${secrets.http}
regmirror:
  workers: 2
  upstreams:
    - name: private
      endpoints: [https://registry.example.com]
      credentials: { username: robot, password: ${secrets.upstream} }
  storage: { filesystem: { rootDirectory: /var/lib/regmirror } }
  auth: { mode: htpasswd, htpasswdFile: /etc/regmirror/htpasswd }
  admin: { username: admin, password: ${secrets.admin} }
  peers:
    self: http://10.0.0.2:5000
    secret: ${secrets.peers}
    members: { static: [http://10.0.0.1:5000, http://10.0.0.2:5000] }
`);

/** The start message as the other worker receives it: through JSON, as over the IPC channel. */
function overTheChannel(wire: WorkerConfig | unknown): StartMessage {
  return JSON.parse(
    JSON.stringify({
      kind: "start",
      port: 5000,
      primarySocket: "/tmp/first.sock",
      tokenSecret: "token-key",
      config: wire,
    }),
  );
}

test("the configuration crosses the channel whole, its secrets as SecretValues again", () => {
  const received = configFromStartMessage(overTheChannel(configForWorkers(config)));
  expect(JSON.parse(JSON.stringify(received))).toEqual(JSON.parse(JSON.stringify(config)));
  const credentials = received.upstreams[0]?.credentials;
  expect(credentials?.kind).toBe("basic");
  if (credentials?.kind !== "basic") return;
  expect(credentials.password).toBeInstanceOf(SecretValue);
  expect(credentials.password.reveal()).toBe(secrets.upstream);
  expect(received.httpSecret?.reveal()).toBe(secrets.http);
  expect(received.admin?.password.reveal()).toBe(secrets.admin);
  expect(received.peers?.secret.reveal()).toBe(secrets.peers);
  // Still redacted wherever the configuration is printed.
  expect(JSON.stringify(received)).not.toContain(secrets.upstream);
});

test("the settings part of the message holds no secret: they travel apart, by path", () => {
  const wire = configForWorkers(config);
  const settings = JSON.stringify(wire.settings);
  for (const secret of Object.values(secrets)) expect(settings).not.toContain(secret);
  expect(wire.secrets.map((secret) => secret.path.join("."))).toEqual(
    expect.arrayContaining(["httpSecret", "upstreams.0.credentials.password", "peers.secret"]),
  );
});

test("a start message that cannot be used: an error naming the key, never a secret", () => {
  const wire = configForWorkers(config);
  const broken = (change: (copy: Record<string, unknown>) => void) => {
    const copy = JSON.parse(JSON.stringify(wire));
    change(copy);
    return () => configFromStartMessage(overTheChannel(copy));
  };
  expect(() => configFromStartMessage(overTheChannel(undefined))).toThrow(
    "the first worker's start message is not usable: config: expected { settings, secrets }, got nothing",
  );
  expect(
    broken((copy) => {
      delete (copy.settings as Record<string, unknown>).storage;
    }),
  ).toThrow("config.storage: expected { kind: filesystem | s3, ... }, got nothing");
  expect(
    broken((copy) => {
      (copy.settings as Record<string, unknown>).listen = { host: "0.0.0.0", port: "5000" };
    }),
  ).toThrow("config.listen: expected { host, port }, got an object");
  expect(
    broken((copy) => {
      copy.secrets = [{ path: ["upstreams", 0, "name"], value: secrets.upstream }];
    }),
  ).toThrow("config.upstreams.0.name: expected a secret's place, got a string");
  expect(() =>
    configFromStartMessage({ ...overTheChannel(wire), port: "5000" as unknown as number }),
  ).toThrow("port: expected a port number, got a string");
  // The secret's value never shows in the message, whatever was wrong.
  try {
    broken((copy) => {
      copy.secrets = [{ path: ["nowhere", "at", "all"], value: secrets.admin }];
    })();
    expect.unreachable();
  } catch (error) {
    expect((error as Error).message).toBe(
      "the first worker's start message is not usable: config.nowhere.at.all: expected a secret's place, got nothing",
    );
  }
});
