// A Docker token service for docker-registry's token auth.
import { createPrivateKey, randomUUID, sign, timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { makeCertificateAuthority } from "./certificates.js";
import { listenOnLoopback } from "./free-port.js";
import type { RepositoryAction, TestUser } from "./upstream-registry.js";

export interface TokenIssuerOptions {
  users: TestUser[];
  anonymousRepositories?: Record<string, RepositoryAction[]>;
  service: string;
  issuer: string;
}

/** A Docker token server (https://distribution.github.io/distribution/spec/auth/token/) on loopback. */
export interface TokenIssuer {
  /** The realm clients are sent to: `http://127.0.0.1:PORT/token`. */
  realm: string;
  service: string;
  issuer: string;
  /** PEM of the certificate bundle the registry trusts for token signatures. */
  rootCertificateBundlePem: string;
  /** How many tokens were issued, for tests that check that auth happened. */
  issuedTokenCount(): number;
  stop(): Promise<void>;
}

/** One `type:name:actions` item of a token request's scope. */
export interface RequestedScope {
  type: string;
  name: string;
  actions: string[];
}

/** Parses `scope` values: each may hold several space-separated scopes; the name may hold `:` (a port). */
export function parseScopes(values: string[]): RequestedScope[] {
  const scopes: RequestedScope[] = [];
  for (const value of values) {
    for (const item of value.split(" ")) {
      const first = item.indexOf(":");
      const last = item.lastIndexOf(":");
      if (first <= 0 || last === first) continue; // malformed: grant nothing for it
      scopes.push({
        type: item.slice(0, first),
        name: item.slice(first + 1, last),
        actions: item
          .slice(last + 1)
          .split(",")
          .filter((action) => action !== ""),
      });
    }
  }
  return scopes;
}

/** Actions `rights` allow on `repository`: an exact key, `prefix/*`, or `*`. */
export function allowedActions(
  rights: Record<string, RepositoryAction[]> | undefined,
  repository: string,
): Set<string> {
  const allowed = new Set<string>();
  for (const [pattern, actions] of Object.entries(rights ?? {})) {
    const matches =
      pattern === "*" ||
      pattern === repository ||
      (pattern.endsWith("/*") && repository.startsWith(pattern.slice(0, -1)));
    if (matches) for (const action of actions) allowed.add(action);
  }
  return allowed;
}

function base64Url(value: Buffer | string): string {
  return Buffer.from(value).toString("base64url");
}

function parseBasicAuth(
  header: string | undefined,
): { username: string; password: string } | undefined {
  if (header === undefined || !header.toLowerCase().startsWith("basic ")) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function samePassword(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { "content-type": "application/json", ...headers });
  response.end(JSON.stringify(body));
}

/**
 * Starts a Docker token server on 127.0.0.1: GET /token (Basic auth) and POST /token (OAuth2
 * password grant, as containerd uses). Tokens are ES256 JWTs whose `x5c` header carries a
 * certificate issued by the CA in `rootCertificateBundlePem`, which distribution 2.8 verifies.
 */
export async function startTokenIssuer(options: TokenIssuerOptions): Promise<TokenIssuer> {
  const authority = await makeCertificateAuthority({ commonName: "regmirror test token CA" });
  const signing = await authority.issueSigningCertificate("regmirror test token signer");
  const signingKey = createPrivateKey(signing.keyPem);
  const header = base64Url(
    JSON.stringify({ typ: "JWT", alg: "ES256", x5c: [signing.certificateDer.toString("base64")] }),
  );
  let issued = 0;

  function issueToken(
    subject: string,
    rights: Record<string, RepositoryAction[]> | undefined,
    scopes: RequestedScope[],
  ) {
    const access = scopes
      .filter((scope) => scope.type === "repository")
      .map((scope) => {
        const allowed = allowedActions(rights, scope.name);
        return {
          type: scope.type,
          name: scope.name,
          actions: scope.actions.filter((action) => allowed.has(action)),
        };
      })
      .filter((entry) => entry.actions.length > 0);
    const now = Math.floor(Date.now() / 1000);
    const claims = {
      iss: options.issuer,
      sub: subject,
      aud: options.service,
      exp: now + 300,
      nbf: now - 10,
      iat: now,
      jti: randomUUID(),
      access,
    };
    const unsigned = `${header}.${base64Url(JSON.stringify(claims))}`;
    // JWS wants the raw r||s form of an ECDSA signature, not DER.
    const signature = sign("sha256", Buffer.from(unsigned), {
      key: signingKey,
      dsaEncoding: "ieee-p1363",
    });
    issued += 1;
    const token = `${unsigned}.${base64Url(signature)}`;
    return {
      token,
      access_token: token,
      expires_in: 300,
      issued_at: new Date(now * 1000).toISOString(),
    };
  }

  function authenticate(credentials: { username: string; password: string } | undefined) {
    if (credentials === undefined) return { subject: "", rights: options.anonymousRepositories };
    const user = options.users.find((candidate) => candidate.username === credentials.username);
    if (user === undefined || !samePassword(credentials.password, user.password)) return undefined;
    return { subject: user.username, rights: user.repositories ?? { "*": ["pull", "push"] } };
  }

  const server = createServer((request, response) => {
    void (async () => {
      const url = new URL(request.url ?? "/", "http://token-issuer");
      if (url.pathname !== "/token") return sendJson(response, 404, { error: "not found" });
      let credentials: { username: string; password: string } | undefined;
      let scopes: RequestedScope[];
      let service: string | null;
      if (request.method === "POST") {
        const form = new URLSearchParams(await readBody(request));
        const username = form.get("username");
        const password = form.get("password");
        credentials = username === null || password === null ? undefined : { username, password };
        scopes = parseScopes(form.getAll("scope"));
        service = form.get("service");
      } else if (request.method === "GET") {
        credentials = parseBasicAuth(request.headers.authorization);
        scopes = parseScopes(url.searchParams.getAll("scope"));
        service = url.searchParams.get("service");
      } else {
        return sendJson(response, 405, { error: "method not allowed" });
      }
      if (service !== null && service !== options.service) {
        return sendJson(response, 400, {
          error: "invalid_request",
          error_description: `unknown service ${service}`,
        });
      }
      const identity = authenticate(credentials);
      if (identity === undefined) {
        return sendJson(
          response,
          401,
          { error: "invalid_grant", error_description: "wrong user name or password" },
          {
            "www-authenticate": 'Basic realm="regmirror-test-token"',
          },
        );
      }
      sendJson(response, 200, issueToken(identity.subject, identity.rights, scopes));
    })().catch((error: unknown) => {
      sendJson(response, 500, { error: String(error) });
    });
  });
  const port = await listenOnLoopback(server);
  let stopped: Promise<void> | undefined;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service: options.service,
    issuer: options.issuer,
    rootCertificateBundlePem: authority.certificatePem,
    issuedTokenCount: () => issued,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
