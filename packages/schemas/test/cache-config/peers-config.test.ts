// regmirror.peers: the replicas that share one upstream download per digest.
import { describe, expect, test } from "vitest";
import { loadCacheConfigFromYaml, normalizeCacheConfig } from "../../src/index.js";
import { problemsOf } from "./load-fixture.js";

const secret = "c2hhcmVkLWJ5LWV2ZXJ5LXJlcGxpY2Etb2YtdGhlLWNhY2hl";

const withPeers = (peers: string) =>
  `proxy:\n  remoteurl: http://127.0.0.1:5000\nregmirror:\n  peers:\n${peers}`;

/** A replica at http://10.0.0.1:5000 with a good secret and these members. */
const loadWithMembers = (members: string) =>
  loadCacheConfigFromYaml(
    withPeers(`    self: http://10.0.0.1:5000\n    secret: ${secret}\n    members: ${members}\n`),
  );

describe("regmirror.peers", () => {
  test("a static member list: self, the secret, the members and the default timeout", () => {
    const config = loadWithMembers(
      '{ static: [http://10.0.0.1:5000, "http://10.0.0.2:5000/", http://10.0.0.3:5000] }',
    );
    expect(config.peers).toMatchObject({
      self: "http://10.0.0.1:5000",
      members: {
        kind: "static",
        urls: ["http://10.0.0.1:5000", "http://10.0.0.2:5000", "http://10.0.0.3:5000"],
      },
      timeoutMs: 5_000,
    });
    expect(config.peers?.secret.reveal()).toBe(secret);
    expect(JSON.stringify(config)).not.toContain(secret);
  });

  test("without peers the cache works alone, whatever form the file has", () => {
    expect(normalizeCacheConfig(undefined).peers).toBeNull();
    expect(
      loadCacheConfigFromYaml("proxy:\n  remoteurl: http://127.0.0.1:5000\n").peers,
    ).toBeNull();
  });

  test("self given by the environment (the operator sets it to the pod's address)", () => {
    const config = normalizeCacheConfig(
      {
        proxy: { remoteurl: "http://127.0.0.1:5000" },
        regmirror: {
          peers: {
            self: "http://10.0.0.9:5000",
            secret,
            members: { static: ["http://10.0.0.1:5000", "http://10.0.0.2:5000"] },
          },
        },
      },
      { environment: { REGISTRY_REGMIRROR_PEERS_SELF: "http://10.0.0.2:5000" } },
    );
    expect(config.peers?.self).toBe("http://10.0.0.2:5000");
  });

  test("self that is not a member, a member twice, a short secret: each named", () => {
    const badPeers = `    self: http://10.0.0.9:5000
    secret: too-short
    members:
      static: [http://10.0.0.1:5000, http://10.0.0.1:5000]
`;
    const problems = problemsOf(() =>
      loadCacheConfigFromYaml(withPeers(`${badPeers}    timeout: 0s\n`)),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        {
          path: "regmirror.peers.timeout",
          value: '"0s"',
          expected: "a duration above zero like 3s or 30s",
        },
      ]),
    );
    // Without the bad timeout, the problems found once the schema passes:
    const fixed = problemsOf(() => loadCacheConfigFromYaml(withPeers(badPeers)));
    expect(fixed).toEqual([
      {
        path: "regmirror.peers.members.static[1]",
        value: '"http://10.0.0.1:5000"',
        expected: "each replica URL once",
      },
      {
        path: "regmirror.peers.self",
        value: '"http://10.0.0.9:5000"',
        expected: expect.stringContaining(
          "one of regmirror.peers.members.static (http://10.0.0.1:5000)",
        ),
      },
      {
        path: "regmirror.peers.secret",
        value: "<redacted>",
        expected: expect.stringContaining("a secret of at least 32 characters"),
      },
    ]);
  });

  test("a member that is not a URL, a missing secret, an unknown key", () => {
    expect(
      problemsOf(() =>
        loadCacheConfigFromYaml(
          withPeers(`    self: http://10.0.0.1:5000
    members:
      static: [http://10.0.0.1:5000, "10.0.0.2 port 5000"]
    memebrs: []
`),
        ),
      ),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: "regmirror.peers.members.static[1]",
          value: '"10.0.0.2 port 5000"',
          expected: expect.stringContaining("a registry URL like"),
        }),
        expect.objectContaining({ path: "regmirror.peers.secret" }),
        expect.objectContaining({
          path: "regmirror.peers.memebrs",
          expected: expect.stringContaining("did you mean members?"),
        }),
      ]),
    );
  });
});

describe("regmirror.peers.members.kubernetes", () => {
  test("a Service's EndpointSlices, with the in-cluster defaults", () => {
    const config = loadWithMembers(
      "{ kubernetes: { namespace: regmirror, service: regmirror-peers, portName: registry } }",
    );
    expect(config.peers?.members).toEqual({
      kind: "kubernetes",
      namespace: "regmirror",
      service: "regmirror-peers",
      portName: "registry",
      scheme: "http",
      intervalMs: 5_000,
      apiServer: "https://kubernetes.default.svc",
      tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
      caFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
    });
  });

  test("a source with one bad field is reported for that field alone", () => {
    const cases: [string, string][] = [
      ["{ dns: { name: peers.test, port: 70000 } }", "regmirror.peers.members.dns.port"],
      [
        "{ kubernetes: { namespace: a, service: b, interval: 0s } }",
        "regmirror.peers.members.kubernetes.interval",
      ],
      ["{ static: [not-a-url] }", "regmirror.peers.members.static[0]"],
    ];
    for (const [members, path] of cases) {
      expect(problemsOf(() => loadWithMembers(members)).map((problem) => problem.path)).toEqual([
        path,
      ]);
    }
  });

  test("both sources, or none, is refused", () => {
    for (const members of [
      "{}",
      "{ static: [http://10.0.0.1:5000], kubernetes: { namespace: a, service: b } }",
      "{ kubernetes: { namespace: a, service: b }, dns: { name: peers.a.svc, port: 5000 } }",
    ]) {
      expect(problemsOf(() => loadWithMembers(members))).toEqual([
        expect.objectContaining({
          path: "regmirror.peers.members",
          expected:
            "one source of members: static (a list of URLs), kubernetes (a Service's EndpointSlices) or dns (a headless Service's name)",
        }),
      ]);
    }
  });
});

test("regmirror.peers.tls: the CA of https members and the name their certificates carry", () => {
  const config = loadCacheConfigFromYaml(
    withPeers(
      `    self: https://10.0.0.1:5000\n    secret: ${secret}\n    members: { static: [https://10.0.0.1:5000] }\n    tls: { caFile: /etc/regmirror/tls/ca.crt, serverName: regmirror-x.ns.svc }\n`,
    ),
  );
  expect(config.peers?.tls).toEqual({
    caFile: "/etc/regmirror/tls/ca.crt",
    serverName: "regmirror-x.ns.svc",
  });
  expect(loadWithMembers("{ static: [http://10.0.0.1:5000] }").peers?.tls).toBeNull();
});

describe("regmirror.peers.members.dns", () => {
  test("the A and AAAA records of a name, with the system's resolvers by default", () => {
    expect(
      loadWithMembers("{ dns: { name: regmirror-peers.ns.svc.cluster.local, port: 5000 } }").peers
        ?.members,
    ).toEqual({
      kind: "dns",
      name: "regmirror-peers.ns.svc.cluster.local",
      port: 5000,
      scheme: "http",
      intervalMs: 5_000,
      server: null,
    });
    const withServer = loadWithMembers(
      '{ dns: { name: peers.test, port: 5000, scheme: https, interval: 2s, server: "[::1]:5353" } }',
    );
    expect(withServer.peers?.members).toMatchObject({
      scheme: "https",
      intervalMs: 2_000,
      server: "[::1]:5353",
    });
  });

  test("a bad name, port, interval or server: each named", () => {
    const problems = problemsOf(() =>
      loadWithMembers(
        '{ dns: { name: "peers test", port: 0, interval: 5, server: "dns.local:53" } }',
      ),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: "regmirror.peers.members.dns.name",
          expected: expect.stringContaining("a host name, without a port"),
        }),
        expect.objectContaining({
          path: "regmirror.peers.members.dns.port",
          expected: "a port number from 1 to 65535",
        }),
        expect.objectContaining({
          path: "regmirror.peers.members.dns.interval",
          expected: "a duration above zero like 3s or 30s",
        }),
        expect.objectContaining({
          path: "regmirror.peers.members.dns.server",
          value: '"dns.local:53"',
          expected: expect.stringContaining("a DNS server's IP address"),
        }),
      ]),
    );
    // The dns source is there, with bad fields: no "one source of members" besides.
    expect(problems.map((problem) => problem.path)).toEqual([
      "regmirror.peers.members.dns.name",
      "regmirror.peers.members.dns.port",
      "regmirror.peers.members.dns.interval",
      "regmirror.peers.members.dns.server",
    ]);
    // An IPv6 server without a port is one address (fd00::10:53 would be an address too).
    expect(
      loadWithMembers('{ dns: { name: peers.test, port: 5000, server: "fd00::10" } }').peers
        ?.members,
    ).toMatchObject({ server: "fd00::10" });
  });
});

describe("regmirror.peers.selfAddress", () => {
  const withSelfAddress = (http: string, peers: string) =>
    `${http}proxy:\n  remoteurl: http://127.0.0.1:5000\nregmirror:\n  peers:\n    secret: ${secret}\n    members: { dns: { name: peers.test, port: 5000, scheme: https } }\n${peers}`;
  const tls = "http:\n  addr: :5000\n  tls: { certificate: /tls/tls.crt, key: /tls/tls.key }\n";

  test("an IPv6 pod address gives https://[address]:port, an IPv4 one https://address:port", () => {
    const config = loadCacheConfigFromYaml(withSelfAddress(tls, "    selfAddress: fd00:0:0::5\n"));
    expect(config.peers?.self).toBe("https://[fd00::5]:5000");
    // As the operator sets it: the pod IP through the environment.
    const fromEnvironment = normalizeCacheConfig(
      {
        http: { addr: "0.0.0.0:5001" },
        proxy: { remoteurl: "http://127.0.0.1:5000" },
        regmirror: { peers: { secret, members: { dns: { name: "peers.test", port: 5001 } } } },
      },
      { environment: { REGISTRY_REGMIRROR_PEERS_SELFADDRESS: "10.1.2.3" } },
    );
    expect(fromEnvironment.peers?.self).toBe("http://10.1.2.3:5001");
  });

  test("self and selfAddress both, or neither, or a bad address: named", () => {
    expect(
      problemsOf(() =>
        loadCacheConfigFromYaml(
          withSelfAddress(tls, "    self: https://10.0.0.1:5000\n    selfAddress: 10.0.0.1\n"),
        ),
      ),
    ).toEqual([
      expect.objectContaining({
        path: "regmirror.peers.self",
        expected: expect.stringContaining("self) or its address (selfAddress"),
      }),
    ]);
    expect(problemsOf(() => loadCacheConfigFromYaml(withSelfAddress(tls, "")))).toEqual([
      expect.objectContaining({ path: "regmirror.peers.self" }),
    ]);
    expect(
      problemsOf(() =>
        loadCacheConfigFromYaml(withSelfAddress(tls, '    selfAddress: "https://10.0.0.1:5000"\n')),
      ),
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: "regmirror.peers.selfAddress",
          value: '"https://10.0.0.1:5000"',
          expected: expect.stringContaining("an IP address (10.0.0.5, fd00::5) or a host name"),
        }),
      ]),
    );
    expect(
      problemsOf(() =>
        loadCacheConfigFromYaml(
          withSelfAddress("http:\n  addr: 127.0.0.1:0\n", "    selfAddress: 10.0.0.1\n"),
        ),
      ),
    ).toEqual([
      expect.objectContaining({
        path: "regmirror.peers.selfAddress",
        expected: expect.stringContaining("a port other than 0"),
      }),
    ]);
  });
});
