// The daemon's one HTTP server (node:http, no framework): /metrics for Prometheus, /healthz and /readyz for
// probes, / for people (and /label, its labelling form: labelPage.ts), /api/v1/alerts and /api/v1/streams for scripts (statusApi.ts). The constructor does nothing; start() listens (port 0 = a free port) and returns the
// bound address; stop() is idempotent and safe before or after a failed start.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';
import type { Metrics } from './metrics';
import { labelForm, LABEL_PAGE_CSP, renderLabelForm, renderLabelOutcome } from './labelPage';
import { readBody, type OperatorApi } from './operatorApi';
import { runChecks, type CheckOutcome, type ReadinessCheck } from './readiness';
import type { StatusModel } from './status';
import { alertsJson, streamsJson } from './statusApi';
import { renderStatusPage, type PageInfo } from './statusPage';

export interface TelemetryServerOptions {
  readonly host: string;
  /** 0 = any free port (tests). */
  readonly port: number;
  readonly metrics: Metrics;
  readonly status: StatusModel;
  /** All must pass for /readyz to answer 200 (e.g. mqttConnectedCheck, modelsLoadedCheck). */
  readonly readiness?: readonly ReadinessCheck[];
  /** Extra liveness checks for /healthz (e.g. a pipeline heartbeat); none = alive while it answers. */
  readonly liveness?: readonly ReadinessCheck[];
  readonly log?: Log;
  readonly page?: PageInfo;
  /**
   * When set, /metrics and the status page require `Authorization: Bearer <token>` (compared in constant
   * time). /healthz and /readyz stay open for orchestrator probes; they reveal no stream data.
   */
  readonly bearerToken?: string;
  /** The operator API (maintenance windows): it answers its own paths, with its own token rules. */
  readonly api?: OperatorApi;
  /** A check slower than this counts as failed (default 2000 ms). */
  readonly checkTimeoutMs?: number;
}

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  /** e.g. http://127.0.0.1:9464 */
  readonly url: string;
}

export interface TelemetryServer {
  start(): Promise<BoundAddress>;
  stop(): Promise<void>;
  /** Adds a readiness check (components register theirs as they are built); returns its remover. */
  addReadinessCheck(check: ReadinessCheck): () => void;
  address(): BoundAddress | null;
}

type Reply = { status: number; type: string; body: string; headers?: Record<string, string> };

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const ROUTES = new Set(['/', '/metrics', '/healthz', '/readyz', '/api/v1/alerts', '/api/v1/streams']);
const HTML_TYPE = 'text/html; charset=utf-8';

export function createTelemetryServer(opts: TelemetryServerOptions): TelemetryServer {
  const readiness: ReadinessCheck[] = [...(opts.readiness ?? [])];
  const timeoutMs = opts.checkTimeoutMs ?? 2000;
  let server: Server | null = null;
  let bound: BoundAddress | null = null;
  let starting: Promise<BoundAddress> | null = null;
  let stopping: Promise<void> | null = null;

  const checksReply = async (checks: readonly ReadinessCheck[], okStatus: string, failStatus: string): Promise<Reply> => {
    const outcomes: CheckOutcome[] = await runChecks(checks, timeoutMs);
    const failing = outcomes.filter((o) => !o.ok);
    const body = failing.length === 0
      ? { status: okStatus, uptime_seconds: Math.round(opts.status.uptimeMs() / 1000), checks: outcomes }
      : { status: failStatus, failing: failing.map(({ name, detail }) => ({ name, detail })), checks: outcomes };
    return { status: failing.length === 0 ? 200 : 503, type: JSON_TYPE, body: JSON.stringify(body) + '\n' };
  };

  const route = async (path: string, query: URLSearchParams): Promise<Reply> => {
    switch (path) {
      case '/metrics':
        return { status: 200, type: opts.metrics.contentType, body: await opts.metrics.text() };
      case '/healthz':
        return checksReply(opts.liveness ?? [], 'ok', 'unhealthy');
      case '/readyz':
        return checksReply(readiness, 'ready', 'not ready');
      case '/api/v1/alerts':
        return { status: 200, type: JSON_TYPE, body: JSON.stringify(alertsJson(opts.status.snapshot())) + '\n' };
      case '/api/v1/streams':
        return { status: 200, type: JSON_TYPE, body: JSON.stringify(streamsJson(opts.status.snapshot())) + '\n' };
      default: {
        const focus = query.get('stream');
        return {
          status: 200, type: 'text/html; charset=utf-8', body: renderStatusPage(opts.status.snapshot(), { ...opts.page, labelling: opts.api?.changesEnabled ?? false }, focus === null ? {} : { focus }),
          // No script, no external asset: the page needs nothing else, so nothing else may load.
          headers: { 'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'" },
        };
      }
    }
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let reply: Reply;
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname;
    if (path === '/label' && opts.api) {
      const api = opts.api;
      reply = await labelReply(req, url.searchParams, api).catch((err: unknown) => {
        opts.log?.error('Cannot serve the labelling form.', { detail: errorMessage(err) });
        return { status: 500, type: TEXT_TYPE, body: 'Internal error\n' };
      });
    } else if (opts.api?.handles(path)) {
      try {
        const r = await opts.api.handle(req, path);
        reply = { status: r.status, type: JSON_TYPE, body: r.status === 204 ? '' : JSON.stringify(r.body) + '\n', ...(r.headers ? { headers: { ...r.headers } } : {}) };
      } catch (err) {
        opts.log?.error('Cannot serve an operator API request.', { path, detail: errorMessage(err) });
        reply = { status: 500, type: JSON_TYPE, body: JSON.stringify({ error: 'internal error' }) + '\n' };
      }
    } else if (!ROUTES.has(path)) reply = { status: 404, type: TEXT_TYPE, body: `Not found: ${path}\n` };
    else if (req.method !== 'GET' && req.method !== 'HEAD') {
      reply = { status: 405, type: TEXT_TYPE, body: `Method ${req.method ?? ''} not allowed\n`, headers: { allow: 'GET, HEAD' } };
    } else if (opts.bearerToken && PROTECTED.has(path) && !authorized(req.headers.authorization, opts.bearerToken)) {
      reply = { status: 401, type: TEXT_TYPE, body: 'Unauthorized\n', headers: { 'www-authenticate': 'Bearer realm="anomalyd"' } };
    } else {
      try {
        reply = await route(path, url.searchParams);
      } catch (err) {
        opts.log?.error('Cannot serve telemetry request.', { path, detail: errorMessage(err) });
        reply = { status: 500, type: TEXT_TYPE, body: 'Internal error\n' };
      }
    }
    res.writeHead(reply.status, {
      'content-type': reply.type,
      'content-length': Buffer.byteLength(reply.body),
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...reply.headers,
    });
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  };

  /** The status page's labelling form (labelPage.ts): read access as for the page, the admin token in the form. */
  const labelReply = async (req: IncomingMessage, query: URLSearchParams, api: OperatorApi): Promise<Reply> => {
    const html = (status: number, body: string): Reply => ({ status, type: HTML_TYPE, body, headers: { 'content-security-policy': LABEL_PAGE_CSP } });
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.method !== 'POST') {
      return { status: 405, type: TEXT_TYPE, body: `Method ${req.method ?? ''} not allowed\n`, headers: { allow: 'GET, HEAD, POST' } };
    }
    if (opts.bearerToken && !authorized(req.headers.authorization, opts.bearerToken)) {
      return { status: 401, type: TEXT_TYPE, body: 'Unauthorized\n', headers: { 'www-authenticate': 'Bearer realm="anomalyd"' } };
    }
    const externalUrl = opts.page?.externalUrl;
    if (req.method === 'POST') {
      if (!/^application\/x-www-form-urlencoded\b/i.test(req.headers['content-type'] ?? '')) {
        return html(415, renderLabelOutcome({ status: 415, body: { error: 'the form must be sent as application/x-www-form-urlencoded' } }, undefined, externalUrl));
      }
      const body = await readBody(req);
      if ('error' in body) return html(body.status, renderLabelOutcome({ status: body.status, body: { error: body.error } }, undefined, externalUrl));
      const form = labelForm(body.bytes);
      const answer = await api.labelEpisode(form.adminToken, form.fingerprint, form.request);
      const stream = (answer.body as { stream?: unknown } | null)?.stream;
      return html(answer.status === 201 ? 200 : answer.status, renderLabelOutcome(answer, typeof stream === 'string' ? stream : undefined, externalUrl));
    }
    const fingerprint = query.get('fingerprint') ?? '';
    const startsAt = Date.parse(query.get('startsAt') ?? '');
    const episode = opts.status.history.list().find((e) => e.fingerprint === fingerprint && e.startsAt === startsAt);
    if (!episode) return html(404, renderLabelOutcome({ status: 404, body: { error: 'no such alert episode among the firing alerts and the last episodes' } }, undefined, externalUrl));
    return html(200, renderLabelForm(episode, opts.status.snapshot().feedback.labelOf(fingerprint, startsAt), api.changesEnabled, externalUrl));
  };

  const listen = async (): Promise<BoundAddress> => {
    const srv = createServer((req, res) => {
      // handle() answers its own errors; this only guards against a response that cannot be written at all.
      handle(req, res).catch(() => res.destroy());
    });
    server = srv;
    await new Promise<void>((resolve, reject) => {
      srv.once('error', reject);
      srv.listen(opts.port, opts.host, () => {
        srv.off('error', reject);
        resolve();
      });
    });
    const a = srv.address() as AddressInfo;
    const host = a.address.includes(':') ? `[${a.address}]` : a.address;
    bound = { host: a.address, port: a.port, url: `http://${host}:${a.port}` };
    opts.log?.info('Serving metrics and status page.', { url: bound.url });
    return bound;
  };

  return {
    start(): Promise<BoundAddress> {
      if (stopping) return Promise.reject(new Error('Telemetry server was stopped'));
      // Concurrent or repeated calls share one listen; a failed one may be retried.
      starting ??= listen().catch((err: unknown) => {
        starting = null;
        throw err;
      });
      return starting;
    },

    stop(): Promise<void> {
      stopping ??= (async (): Promise<void> => {
        // A start still in progress finishes first, so it cannot leave a listening server behind.
        if (starting) await starting.catch(() => undefined);
        const srv = server;
        if (!srv || !srv.listening) return;
        await new Promise<void>((resolve) => {
          srv.close(() => resolve());
          // close() waits for idle keep-alive sockets (a scraper's); closing them makes stop() prompt.
          srv.closeAllConnections();
        });
      })();
      return stopping;
    },

    addReadinessCheck(check: ReadinessCheck): () => void {
      readiness.push(check);
      return () => {
        const i = readiness.indexOf(check);
        if (i >= 0) readiness.splice(i, 1);
      };
    },

    address: () => bound,
  };
}

/** Paths that show stream data and so need the bearer token when one is configured. */
const PROTECTED: ReadonlySet<string> = new Set(['/metrics', '/', '/api/v1/alerts', '/api/v1/streams']);

function authorized(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  const given = createHash('sha256').update(m[1]).digest();
  const expected = createHash('sha256').update(token).digest();
  return timingSafeEqual(given, expected);
}
