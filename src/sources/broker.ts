// An in-process MQTT broker (aedes) for the embedded demo, so `npm start` needs no Mosquitto. It keeps sessions
// in memory only: fine for a demo, not for a plant (use a real broker there).
import { connect, createServer, type Server } from 'node:net';
import type { Aedes } from 'aedes';

export interface EmbeddedBrokerOptions {
  readonly host: string;
  readonly port: number;
}

export interface EmbeddedBroker {
  readonly host: string;
  /** The port actually bound (useful with port 0). */
  readonly port: number;
  close(): Promise<void>;
}


/** Starts aedes on host:port; rejects when the port cannot be bound (e.g. already in use). */
export async function startEmbeddedBroker(o: EmbeddedBrokerOptions): Promise<EmbeddedBroker> {
  // aedes 1.x is ESM-only: TypeScript compiles this dynamic import to require(), which loads ESM on Node >= 20.19.
  const { Aedes } = await import('aedes');
  const aedes = await Aedes.createBroker();
  const server = createServer((socket) => void aedes.handle(socket));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port, o.host, () => {
        server.removeListener('error', reject);
        resolve();
      });
    });
  } catch (err) {
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    throw err;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  let closed: Promise<void> | null = null;
  return {
    host: o.host,
    port,
    close: () => (closed ??= closeBoth(server, aedes)),
  };
}

async function closeBoth(server: Server, aedes: Aedes): Promise<void> {
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  // aedes.close ends the client connections, which lets server.close finish.
  await new Promise<void>((resolve) => aedes.close(() => resolve()));
  await serverClosed;
}

/** True when something accepts TCP connections on host:port within timeoutMs. */
export function isPortListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (listening: boolean): void => {
      socket.destroy();
      resolve(listening);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * Where `embedded_broker` wants a broker started, or null: `on` = always at the URL's host and port; `auto` =
 * only when the URL is a plain mqtt:// loopback address and nothing listens there yet; `off` = never.
 */
export async function embeddedBrokerTarget(mode: 'auto' | 'on' | 'off', url: string): Promise<EmbeddedBrokerOptions | null> {
  return (await embeddedBrokerDecision(mode, url)).target;
}

export interface EmbeddedBrokerDecision {
  readonly target: EmbeddedBrokerOptions | null;
  /** Why, in words for the start-up log, e.g. "mqtt.embedded_broker is auto and a broker already listens on 127.0.0.1:1883". */
  readonly reason: string;
}

/** embeddedBrokerTarget with the reason for its answer. */
export async function embeddedBrokerDecision(mode: 'auto' | 'on' | 'off', url: string): Promise<EmbeddedBrokerDecision> {
  if (mode === 'off') return { target: null, reason: 'mqtt.embedded_broker is off' };
  const u = new URL(url);
  const host = u.hostname === 'localhost' ? '127.0.0.1' : u.hostname.replace(/^\[|\]$/g, '');
  const port = u.port ? Number(u.port) : 1883;
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (mode === 'on') return { target: { host, port }, reason: `mqtt.embedded_broker is on` };
  if (!['mqtt:', 'tcp:'].includes(u.protocol) || !LOOPBACK.has(u.hostname)) {
    return { target: null, reason: 'mqtt.embedded_broker is auto and mqtt.url is not a plain mqtt:// loopback address' };
  }
  return (await isPortListening(host, port))
    ? { target: null, reason: `mqtt.embedded_broker is auto and a broker already listens on ${at}` }
    : { target: { host, port }, reason: `mqtt.embedded_broker is auto and nothing listened on ${at}` };
}
