// Free loopback ports for services the tests start themselves.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The error a start throws when its port was taken: startOnFreePort then tries a new port. */
export class PortTakenError extends Error {}

/** Whether a service's output (or an error message) says it could not bind its address. */
export function saysAddressInUse(text: string): boolean {
  return /address already in use|EADDRINUSE/i.test(text);
}

/**
 * A port from freePort() is free when asked, not when the service binds it: another test (or a service of a
 * parallel test file) may take it in between. `start` is given `ports` fresh ports; when it fails with
 * PortTakenError (or a message saying the address is in use) it is tried again on new ports, at most
 * `attempts` times. `start` must clean up after itself when it throws.
 */
export async function startOnFreePort<T>(start: (...ports: number[]) => Promise<T>, ports = 1, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const fresh: number[] = [];
    for (let i = 0; i < ports; i++) fresh.push(await freePort());
    try {
      return await start(...fresh);
    } catch (err) {
      const taken = err instanceof PortTakenError || saysAddressInUse((err as Error).message);
      if (attempt >= attempts || !taken) throw err;
    }
  }
}

/**
 * Whether process `pid` holds the listening TCP socket on 127.0.0.1:`port` (Linux /proc). A readiness probe that
 * answers proves only that *something* listens there: when the port was taken between freePort() and the bind,
 * the answer comes from the other process while ours is failing. Without /proc this cannot tell and says yes.
 */
export function ownsListeningPort(pid: number | undefined, port: number): boolean {
  if (pid === undefined) return false;
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return true;
  }
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const inodes = new Set<string>();
  for (const line of table.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    // f[1] local address, f[3] state (0A = LISTEN), f[9] inode
    if (f[1] === local && f[3] === '0A') inodes.add(f[9]);
  }
  if (inodes.size === 0) return false;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return false;
  }
  return fds.some((fd) => {
    try {
      return inodes.has(/^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))?.[1] ?? '');
    } catch {
      return false;
    }
  });
}
