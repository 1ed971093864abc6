// A client of the Chitty Veil relayer's REST API (docs/clients.md).
//
// The types of every route are generated from the relayer's OpenAPI document by
// openapi-typescript (`npm run generate`), and `client.api` is an openapi-fetch client over
// them. What no generator does is this file's: request signing (X-Timestamp, X-Nonce,
// X-Signature over the canonical request, with WebCrypto so it runs in browsers and node),
// wallet sign-in sessions, retries with jitter of idempotent calls only, a breaker with a
// health probe, a verify cache, and fail-over to the fallback minter. Every request, typed or
// not, goes through the same path.

import createClient, { type Client as FetchClient } from "openapi-fetch";
import type { paths } from "./schema.js";

export type { paths } from "./schema.js";

/** Retries of idempotent calls: delays double from `initialMs` up to `maxMs`, plus jitter. */
export interface RetryPolicy {
  retries: number;
  initialMs: number;
  maxMs: number;
}

/** When the breaker opens, and for how long. */
export interface BreakerOptions {
  /** Consecutive failures (no answer, or 5xx) that open it. */
  failures: number;
  /** How long it stays open before the next probe of `GET /health`. */
  openForMs: number;
}

export interface VeilClientOptions {
  /** The relayer's origin, `http://127.0.0.1:8080` (the signed path is the request's own). */
  baseUrl: string;
  /** A server's API key; with `signingSecret` every request is signed. Never in a browser. */
  apiKey?: string;
  /** The key's HMAC signing secret, 64 hex characters. */
  signingSecret?: string;
  retry?: Partial<RetryPolicy>;
  breaker?: Partial<BreakerOptions>;
  /** How long a verify answer is reused (30 000 ms by default; 0 turns the cache off). */
  verifyCacheTtlMs?: number;
  /** Mints go here when the relayer cannot take them. */
  fallback?: { baseUrl: string; token?: string };
  /** Timeout of one request (10 000 ms by default). */
  timeoutMs?: number;
}

/** What a call failed with. */
export class VeilError extends Error {
  constructor(
    /** `api`: the relayer's error envelope; `unreachable`: no answer; `breaker_open`: not
     * called; `unexpected`: an answer that is not the relayer's JSON; `config`. */
    readonly kind: "api" | "unreachable" | "breaker_open" | "unexpected" | "config",
    message: string,
    readonly status = 0,
    /** The typed code, such as `AUTH_INVALID_SIGNATURE`. */
    readonly code?: string,
    readonly details?: unknown,
    /** `Retry-After`, seconds. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "VeilError";
  }

  /** The relayer itself is the trouble: what the breaker counts and fail-over covers. */
  get isOutage(): boolean {
    return (
      this.kind === "unreachable" ||
      this.kind === "breaker_open" ||
      ((this.kind === "api" || this.kind === "unexpected") && this.status >= 500)
    );
  }
}

/** A wallet's session. */
export interface Session {
  token: string;
  refresh_token: string;
  expires_at: string;
  chain_id: string;
  address: string;
}

export interface MintRequest {
  namespace: string;
  entity_type: string;
  trust_level?: number;
  content_hash?: string;
  content?: string;
  request_nonce?: string;
  metadata?: Record<string, string | number | boolean | null>;
  metadata_public?: boolean;
}

export interface Minted {
  id: string;
  /** Minted by the fallback minter: provisional until the relayer reconciles it. */
  provisional: boolean;
  /** The relayer answered an earlier mint under the same idempotency key. */
  replayed: boolean;
  /** The relayer was down and the client went to the fallback minter itself. */
  viaFallback: boolean;
  idempotencyKey: string;
  body: Record<string, unknown>;
}

export interface ChallengeQuery {
  party?: string;
  status?: string;
  mode?: string;
  cursor?: string;
  limit?: number;
}

const encoder = new TextEncoder();

function hex(bytes: ArrayBuffer | Uint8Array): string {
  return Array.from(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), (b) =>
    b.toString(16).padStart(2, "0"),
  ).join("");
}

function fromHex(text: string): Uint8Array<ArrayBuffer> {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new VeilError("config", "the signing secret is not 64 hex characters");
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function randomHex(bytes: number): string {
  return hex(crypto.getRandomValues(new Uint8Array(bytes)));
}

/** The canonical request (docs/api-auth.md): five lines, the last the body's SHA-256. */
export async function canonicalRequest(
  method: string,
  pathAndQuery: string,
  timestamp: number,
  nonce: string,
  body: Uint8Array<ArrayBuffer>,
): Promise<string> {
  const digest = hex(await crypto.subtle.digest("SHA-256", body));
  return `${method.toUpperCase()}\n${pathAndQuery}\n${timestamp}\n${nonce}\n${digest}`;
}

/** The three headers of a signed request. */
export async function signRequest(
  signingSecretHex: string,
  method: string,
  pathAndQuery: string,
  body: Uint8Array<ArrayBuffer>,
  timestamp: number,
  nonce: string,
): Promise<{ "x-timestamp": string; "x-nonce": string; "x-signature": string }> {
  const key = await crypto.subtle.importKey(
    "raw",
    fromHex(signingSecretHex),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const canonical = await canonicalRequest(method, pathAndQuery, timestamp, nonce, body);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(canonical));
  return { "x-timestamp": String(timestamp), "x-nonce": nonce, "x-signature": hex(mac) };
}

type Admission = { kind: "call" } | { kind: "probe" } | { kind: "refuse"; retryAfterMs: number };

/** Written here, not taken from a package: a half-open breaker probes `GET /health` instead
 * of letting a real (signed, maybe minting) call through. */
class Breaker {
  private failures = 0;
  private openUntil: number | undefined;

  constructor(private readonly options: BreakerOptions) {}

  admit(): Admission {
    if (this.openUntil === undefined) return { kind: "call" };
    const now = Date.now();
    if (now < this.openUntil) return { kind: "refuse", retryAfterMs: this.openUntil - now };
    this.openUntil = now + this.options.openForMs;
    return { kind: "probe" };
  }

  success(): void {
    this.failures = 0;
    this.openUntil = undefined;
  }

  failure(): void {
    if (this.openUntil !== undefined) return;
    this.failures += 1;
    if (this.failures >= this.options.failures) {
      this.openUntil = Date.now() + this.options.openForMs;
    }
  }

  probed(healthy: boolean): void {
    if (healthy) this.success();
    else this.openUntil = Date.now() + this.options.openForMs;
  }

  get open(): boolean {
    return this.openUntil !== undefined;
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** An error answer as a [`VeilError`]. */
async function failure(response: Response): Promise<VeilError> {
  const text = await response.text();
  let envelope: { error?: { code?: string; message?: string; details?: unknown } } | undefined;
  try {
    envelope = JSON.parse(text);
  } catch {
    envelope = undefined;
  }
  const retryAfter = Number(response.headers.get("retry-after") ?? NaN);
  if (envelope?.error?.code) {
    return new VeilError(
      "api",
      `${response.status} ${envelope.error.code}: ${envelope.error.message ?? ""}`,
      response.status,
      envelope.error.code,
      envelope.error.details,
      Number.isFinite(retryAfter) ? retryAfter : undefined,
    );
  }
  return new VeilError("unexpected", `unexpected answer ${response.status}: ${text.slice(0, 512)}`, response.status);
}

export class VeilClient {
  /** Every route, typed from the OpenAPI document, through the same signing, retries and
   * breaker. It answers `{ data, error, response }` and does not throw on a 4xx. */
  readonly api: FetchClient<paths>;
  /** Verify answers served from the cache so far. */
  verifyCacheHits = 0;

  private readonly baseUrl: string;
  private readonly retry: RetryPolicy;
  private readonly breaker: Breaker;
  private readonly verifyTtlMs: number;
  private readonly verifyCache = new Map<string, { at: number; answer: unknown }>();
  private readonly timeoutMs: number;
  private credentials:
    | { kind: "none" }
    | { kind: "key"; apiKey: string; secret: string }
    | { kind: "session"; session: Session };
  /** Seconds to add to this machine's clock to get the relayer's. */
  private skew = 0;

  constructor(private readonly options: VeilClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.retry = { retries: 3, initialMs: 100, maxMs: 2_000, ...options.retry };
    this.breaker = new Breaker({ failures: 5, openForMs: 10_000, ...options.breaker });
    this.verifyTtlMs = options.verifyCacheTtlMs ?? 30_000;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    if (options.apiKey !== undefined || options.signingSecret !== undefined) {
      if (!options.apiKey || !options.signingSecret) {
        throw new VeilError("config", "an API key needs its signing secret");
      }
      fromHex(options.signingSecret);
      this.credentials = { kind: "key", apiKey: options.apiKey, secret: options.signingSecret };
    } else {
      this.credentials = { kind: "none" };
    }
    this.api = createClient<paths>({
      baseUrl: this.baseUrl,
      fetch: (request: Request) => this.send(request),
    });
  }

  /** The session, when signed in. */
  get session(): Session | undefined {
    return this.credentials.kind === "session" ? this.credentials.session : undefined;
  }

  get breakerOpen(): boolean {
    return this.breaker.open;
  }

  /** Mints under a fresh `Idempotency-Key` (or the caller's), retried under that key so every
   * retry answers the same ID; with a fallback configured, a mint the relayer cannot take
   * goes there and comes back provisional. */
  async mint(request: MintRequest, idempotencyKey = `vc-${randomHex(16)}`): Promise<Minted> {
    try {
      const response = await this.json("POST", "/api/v2/chittyid/mint", request, {
        "idempotency-key": idempotencyKey,
      });
      const body = response.body as Record<string, unknown>;
      return {
        id: String(body.id ?? ""),
        provisional: body.provisional === true,
        replayed: response.headers.get("idempotent-replayed") === "true",
        viaFallback: false,
        idempotencyKey,
        body,
      };
    } catch (error) {
      if (error instanceof VeilError && error.isOutage && this.options.fallback) {
        return this.mintAtFallback(request, idempotencyKey);
      }
      throw error;
    }
  }

  private async mintAtFallback(request: MintRequest, idempotencyKey: string): Promise<Minted> {
    const fallback = this.options.fallback!;
    const url = `${fallback.baseUrl.replace(/\/+$/, "")}/api/v2/fallback/request`;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (fallback.token) headers.authorization = `Bearer ${fallback.token}`;
    let response: Response;
    try {
      response = await fetch(url, {
        method: "POST",
        headers,
        body: JSON.stringify({
          namespace: request.namespace,
          entity_type: request.entity_type,
          trust_level: request.trust_level ?? 0,
          content_hash: request.content_hash,
          content: request.content,
          request_nonce: request.request_nonce ?? randomHex(16),
        }),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new VeilError("unreachable", `${url} did not answer: ${cause}`);
    }
    if (!response.ok) throw await failure(response);
    const body = (await response.json()) as Record<string, unknown>;
    return {
      id: String(body.provisional_id ?? ""),
      provisional: true,
      replayed: false,
      viaFallback: true,
      idempotencyKey,
      body,
    };
  }

  /** `GET /api/v2/chittyid/verify/{id}`, from the cache when it answered this ID lately. */
  async verify(id: string): Promise<Record<string, unknown>> {
    const cached = this.verifyCache.get(id);
    if (this.verifyTtlMs > 0 && cached && Date.now() - cached.at < this.verifyTtlMs) {
      this.verifyCacheHits += 1;
      return cached.answer as Record<string, unknown>;
    }
    const response = await this.json("GET", `/api/v2/chittyid/verify/${encodeURIComponent(id)}`);
    if (this.verifyTtlMs > 0) {
      if (this.verifyCache.size >= 4_096) {
        const oldest = this.verifyCache.keys().next().value;
        if (oldest !== undefined) this.verifyCache.delete(oldest);
      }
      this.verifyCache.set(id, { at: Date.now(), answer: response.body });
    }
    return response.body as Record<string, unknown>;
  }

  /** One page of `GET /api/v2/challenges`. */
  async challenges(query: ChallengeQuery = {}): Promise<Record<string, unknown>> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) params.set(name, String(value));
    }
    const search = params.toString();
    return (await this.json("GET", `/api/v2/challenges${search ? `?${search}` : ""}`))
      .body as Record<string, unknown>;
  }

  /** `GET /api/v2/challenges/{address}`. */
  async challenge(address: string): Promise<Record<string, unknown>> {
    return (await this.json("GET", `/api/v2/challenges/${encodeURIComponent(address)}`))
      .body as Record<string, unknown>;
  }

  /** Signs in with a wallet: `sign` signs the issued message (base58 for Solana, 0x-hex for
   * EVM; a wallet-standard `signMessage` does it). From then on the client carries the
   * session, and no API key. */
  async signIn(
    chainId: string,
    address: string,
    sign: (message: string) => string | Promise<string>,
  ): Promise<Session> {
    const issued = (await this.json("POST", "/api/v2/auth/challenge", {
      chain_id: chainId,
      address,
    })).body as { message: string };
    const signature = await sign(issued.message);
    const session = (await this.json("POST", "/api/v2/auth/session", {
      message: issued.message,
      signature,
    })).body as Session;
    this.credentials = { kind: "session", session };
    return session;
  }

  /** New tokens for the refresh token (also done by itself when a call finds the token
   * lapsed). */
  async refresh(): Promise<Session> {
    const current = this.session;
    if (!current) throw new VeilError("config", "not signed in");
    const response = await this.attempt(
      "POST",
      "/api/v2/auth/refresh",
      encoder.encode(JSON.stringify({ refresh_token: current.refresh_token })),
      { "content-type": "application/json" },
      false,
    );
    if (!response.ok) throw await failure(response);
    const session = (await response.json()) as Session;
    this.credentials = { kind: "session", session };
    return session;
  }

  /** Carries `session` (one this client or another signed in, kept by the page across
   * reloads) from here on. */
  resume(session: Session): void {
    this.credentials = { kind: "session", session };
  }

  /** Any route: its 2xx JSON body, or a thrown [`VeilError`] with the typed code. */
  async call<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<T> {
    return (await this.json(method, path, body, headers)).body as T;
  }

  /** Signs out; the client is then without credentials. */
  async signOut(): Promise<void> {
    await this.json("DELETE", "/api/v2/auth/session");
    this.credentials = { kind: "none" };
  }

  /** A call whose 2xx body is JSON; anything else throws a [`VeilError`]. */
  private async json(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ body: unknown; headers: Headers }> {
    const init: RequestInit = { method, headers: { ...headers } };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      (init.headers as Record<string, string>)["content-type"] = "application/json";
    }
    const response = await this.send(new Request(`${this.baseUrl}${path}`, init));
    if (!response.ok) throw await failure(response);
    const text = await response.text();
    return { body: text ? JSON.parse(text) : null, headers: response.headers };
  }

  /** The one path of every request: breaker, signing afresh per attempt, retries of
   * idempotent requests (reads, and writes under an `Idempotency-Key`), a re-signing on the
   * relayer's clock after `AUTH_TIMESTAMP_EXPIRED`, a refresh after `AUTH_SESSION_INVALID`. */
  private async send(request: Request): Promise<Response> {
    const url = new URL(request.url);
    const pathAndQuery = `${url.pathname}${url.search}`;
    const method = request.method.toUpperCase();
    const body = new Uint8Array(await request.clone().arrayBuffer());
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const idempotent = method === "GET" || method === "HEAD" || "idempotency-key" in headers;
    let delay = this.retry.initialMs;
    let retries = 0;
    let reclocked = false;
    let refreshed = false;
    for (;;) {
      const admission = this.breaker.admit();
      if (admission.kind === "refuse") {
        throw new VeilError(
          "breaker_open",
          `the relayer is failing; not calling it for ${admission.retryAfterMs} ms`,
        );
      }
      if (admission.kind === "probe") {
        const healthy = await this.probe();
        this.breaker.probed(healthy);
        if (!healthy) throw new VeilError("breaker_open", "the relayer's health probe failed");
      }
      let outcome: Response | VeilError;
      try {
        outcome = await this.attempt(method, pathAndQuery, body, headers, true);
      } catch (error) {
        outcome = error instanceof VeilError ? error : new VeilError("unreachable", String(error));
      }
      if (outcome instanceof Response && outcome.ok) {
        this.breaker.success();
        return outcome;
      }
      const error = outcome instanceof Response ? await failure(outcome.clone()) : outcome;
      if (error.isOutage) this.breaker.failure();
      else this.breaker.success();
      if (error.code === "AUTH_TIMESTAMP_EXPIRED" && !reclocked) {
        const server = (error.details as { server_time?: number } | undefined)?.server_time;
        if (typeof server === "number") {
          reclocked = true;
          this.skew = server - Math.floor(Date.now() / 1000);
          continue;
        }
      }
      if (error.code === "AUTH_SESSION_INVALID" && !refreshed && this.session) {
        refreshed = true;
        try {
          await this.refresh();
          continue;
        } catch {
          throw error;
        }
      }
      const retryable =
        idempotent &&
        retries < this.retry.retries &&
        (error.status === 429 || (error.isOutage && error.kind !== "breaker_open"));
      if (!retryable) {
        // An answer (a 4xx, or the last 5xx) goes back as the response it was: `json()` turns it
        // into a VeilError, openapi-fetch into its `error`.
        if (outcome instanceof Response) return outcome;
        throw error;
      }
      retries += 1;
      const base = Math.min(delay, this.retry.maxMs);
      const wait = Math.max(base + Math.random() * base, (error.retryAfter ?? 0) * 1000);
      delay *= 2;
      await sleep(Math.min(wait, 30_000));
    }
  }

  /** One HTTP request, signed now when `authenticate`. */
  private async attempt(
    method: string,
    pathAndQuery: string,
    body: Uint8Array<ArrayBuffer>,
    headers: Record<string, string>,
    authenticate: boolean,
  ): Promise<Response> {
    const sent: Record<string, string> = { ...headers };
    if (authenticate) {
      if (this.credentials.kind === "key") {
        const now = Math.floor(Date.now() / 1000) + this.skew;
        Object.assign(
          sent,
          { "x-api-key": this.credentials.apiKey },
          await signRequest(this.credentials.secret, method, pathAndQuery, body, now, randomHex(16)),
        );
      } else if (this.credentials.kind === "session") {
        sent.authorization = `Bearer ${this.credentials.session.token}`;
      }
    }
    const url = `${new URL(this.baseUrl).origin}${pathAndQuery}`;
    try {
      return await fetch(url, {
        method,
        headers: sent,
        body: method === "GET" || method === "HEAD" || body.length === 0 ? undefined : body,
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (cause) {
      throw new VeilError("unreachable", `${url} did not answer: ${cause}`);
    }
  }

  /** `GET /health` answered 200. */
  private async probe(): Promise<boolean> {
    try {
      const response = await fetch(`${this.baseUrl}/health`, {
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      return response.ok;
    } catch {
      return false;
    }
  }
}

export * from "./programs.js";
