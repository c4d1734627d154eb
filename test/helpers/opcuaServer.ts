// A simulated PLC for integration tests: a real node-opcua OPCUAServer on a free loopback port whose variables
// (ns=1;s=<asset>.<channel>, browse path /Objects/1:<asset>/1:<channel>) carry the simulator's pump signals. Each
// asset plays a series of samples (pump signals, with a fault where the test put one) one per `tickMs` of real
// time, stamped with the sample's own time as source timestamp, so a test runs plant hours in seconds. The server
// makes its own certificate in a PKI dir of the test's; it trusts any client certificate unless told otherwise.
// With `userCertificates` it accepts X.509 user identities whose certificate it trusts, and no anonymous
// session. restart() stops the server process's OPCUAServer and starts a new one on the same port and
// certificate (sessions, subscriptions and queues gone, as after a PLC reboot) while the plant goes on.
// Also: a TCP proxy in front of it (cut() drops every connection and refuses new ones until restore()), to cut
// the link without stopping the server.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { OPCUACertificateManager } from 'node-opcua-certificate-manager';
import { MessageSecurityMode, SecurityPolicy } from 'node-opcua-client';
import { readCertificate } from 'node-opcua-crypto';
import type { UAVariable } from 'node-opcua-address-space';
import { OPCUAServer } from 'node-opcua-server';
import { StatusCodes, type StatusCode } from 'node-opcua-status-code';
import { DataType } from 'node-opcua-variant';
import type { Sample } from '../../src/core/types';
import { PUMP_CHANNELS } from '../../src/simulator/signals';
import { freePort } from './ports';

export interface PlcAsset {
  /** Object name, e.g. `Pump1`. */
  readonly name: string;
  readonly samples: readonly Sample[];
}

export interface PlcOptions {
  readonly assets: readonly PlcAsset[];
  /** Real milliseconds per sample; default 20. */
  readonly tickMs?: number;
  /** Also offer Sign and SignAndEncrypt (Basic256Sha256); default: None only. */
  readonly secure?: boolean;
  /** Users (name -> password) the server accepts; default: anonymous only. */
  readonly users?: Readonly<Record<string, string>>;
  /** Wait for start() before playing the series; default false (plays from start). */
  readonly paused?: boolean;
  /** Reuse a PKI dir (the server's certificate) across servers; default a new one. */
  readonly pkiDir?: string;
  /** Certificate files (PEM or DER) of the user identities the server accepts; set: no anonymous sessions. */
  readonly userCertificates?: readonly string[];
}

export class SimulatedPlc {
  private readonly variables = new Map<string, UAVariable>();
  private timer: NodeJS.Timeout | null = null;
  private tick = 0;
  private readonly bad = new Map<string, StatusCode>();
  private readonly ownPki: boolean;
  private userPki: string | null = null;

  private constructor(
    private server: OPCUAServer,
    readonly port: number,
    private readonly opts: PlcOptions,
    readonly pkiDir: string,
  ) {
    this.ownPki = opts.pkiDir === undefined;
  }

  static async start(opts: PlcOptions): Promise<SimulatedPlc> {
    const pkiDir = opts.pkiDir ?? mkdtempSync(path.join(tmpdir(), 'anomalyd-plc-pki-'));
    const port = await freePort();
    // The users' certificate store is its own (the server's own store accepts any client certificate).
    const userPki = opts.userCertificates ? mkdtempSync(path.join(tmpdir(), 'anomalyd-plc-userpki-')) : null;
    const plc = new SimulatedPlc(await SimulatedPlc.serve(opts, pkiDir, port, userPki), port, opts, pkiDir);
    plc.userPki = userPki;
    await plc.open();
    if (!opts.paused) plc.play();
    return plc;
  }

  /** A new OPCUAServer (not started) on `port`, its certificate in `pkiDir`. */
  private static async serve(opts: PlcOptions, pkiDir: string, port: number, userPki: string | null): Promise<OPCUAServer> {
    const serverCertificateManager = new OPCUACertificateManager({ rootFolder: pkiDir, automaticallyAcceptUnknownCertificate: true });
    const users = opts.users;
    const certificates = opts.userCertificates;
    const userCertificateManager = certificates && userPki !== null ? new OPCUACertificateManager({ rootFolder: userPki, automaticallyAcceptUnknownCertificate: false }) : undefined;
    if (userCertificateManager && certificates) {
      await userCertificateManager.initialize();
      for (const file of certificates) await userCertificateManager.trustCertificate(readCertificate(file));
    }
    const server = new OPCUAServer({
      port,
      hostname: '127.0.0.1',
      serverCertificateManager,
      ...(userCertificateManager ? { userCertificateManager } : {}),
      securityModes: opts.secure ? [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt] : [MessageSecurityMode.None],
      securityPolicies: opts.secure ? [SecurityPolicy.None, SecurityPolicy.Basic256Sha256] : [SecurityPolicy.None],
      allowAnonymous: users === undefined && certificates === undefined,
      // Every change goes out (exception-based items are not coalesced): the PLC plays a sample per tick.
      serverCapabilities: { minSupportedSampleRate: 0 },
      ...(users ? { userManager: { isValidUser: (u: string, p: string) => users[u] === p } } : {}),
    });
    await server.initialize();
    return server;
  }

  /** Builds the address space of the server made by serve(), with the current sample, and starts it. */
  private async open(): Promise<void> {
    this.variables.clear();
    this.buildAddressSpace();
    // The first sample is the variables' value from the start: a client's first notification is a real sample.
    this.step();
    await this.server.start();
  }

  /**
   * The server goes down for `downMs` and comes back as a new instance on the same port and certificate: its
   * sessions, subscriptions and queued values are gone. The plant goes on meanwhile: the samples of the outage
   * are skipped (never sampled by a server), and playing resumes after them.
   */
  async restart(downMs: number): Promise<void> {
    const playing = this.timer !== null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.server.shutdown(0);
    const startedAt = Date.now();
    const next = await SimulatedPlc.serve(this.opts, this.pkiDir, this.port, this.userPki);
    await new Promise((r) => setTimeout(r, Math.max(0, downMs - (Date.now() - startedAt))));
    this.tick += Math.round((Date.now() - startedAt) / (this.opts.tickMs ?? 20));
    this.server = next;
    await this.open();
    if (playing) this.play();
  }

  get endpointUrl(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  /** The server's certificate file (PEM), for a client's trusted_certs. */
  get certificateFile(): string {
    return this.server.certificateFile;
  }

  /** Samples played so far per asset (the first is there from the start). */
  get played(): number {
    return this.tick;
  }

  static nodeId(asset: string, channel: string): string {
    return `ns=1;s=${asset}.${channel}`;
  }

  /** Starts (or resumes) playing the series. */
  play(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.step(), this.opts.tickMs ?? 20);
  }

  /** Stops playing (the variables keep their last sample) until play(). */
  pause(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** From now on the variable reports `status` (e.g. BadSensorFailure) instead of its values; null: good again. */
  setStatus(asset: string, channel: string, status: StatusCode | null): void {
    const key = `${asset}.${channel}`;
    if (status === null) this.bad.delete(key);
    else this.bad.set(key, status);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.server.shutdown(0);
    if (this.ownPki) rmSync(this.pkiDir, { recursive: true, force: true });
    if (this.userPki !== null) rmSync(this.userPki, { recursive: true, force: true });
  }

  private buildAddressSpace(): void {
    const addressSpace = this.server.engine.addressSpace;
    if (!addressSpace) throw new Error('OPC UA server has no address space');
    const ns = addressSpace.getOwnNamespace();
    for (const asset of this.opts.assets) {
      const folder = ns.addObject({ organizedBy: addressSpace.rootFolder.objects, browseName: asset.name });
      for (const channel of PUMP_CHANNELS) {
        const v = ns.addVariable({
          componentOf: folder,
          browseName: channel,
          nodeId: `s=${asset.name}.${channel}`,
          dataType: 'Double',
          minimumSamplingInterval: 0,
          value: { dataType: DataType.Double, value: 0 },
        });
        this.variables.set(`${asset.name}.${channel}`, v);
      }
    }
  }

  step(): void {
    const i = this.tick;
    let any = false;
    for (const asset of this.opts.assets) {
      const sample = asset.samples[i];
      if (!sample) continue;
      any = true;
      const at = new Date(sample.ts);
      PUMP_CHANNELS.forEach((channel, c) => {
        const key = `${asset.name}.${channel}`;
        const bad = this.bad.get(key);
        const v = this.variables.get(key);
        if (!v) return;
        if (bad) v.setValueFromSource({ dataType: DataType.Double, value: 0 }, bad, at);
        else v.setValueFromSource({ dataType: DataType.Double, value: sample.values[c] ?? 0 }, StatusCodes.Good, at);
      });
    }
    if (any) this.tick++;
  }
}

/** A TCP proxy on a free loopback port in front of `port`: cut() drops the link, restore() lets it back. */
export class LinkProxy {
  private readonly sockets = new Set<Socket>();
  private open = true;
  private readonly server: Server;
  port = 0;

  private constructor(private readonly targetPort: number) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(targetPort: number): Promise<LinkProxy> {
    const proxy = new LinkProxy(targetPort);
    proxy.port = await freePort();
    await new Promise<void>((resolve) => proxy.server.listen(proxy.port, '127.0.0.1', resolve));
    return proxy;
  }

  get endpointUrl(): string {
    return `opc.tcp://127.0.0.1:${this.port}`;
  }

  /** Drops every connection and refuses new ones. */
  cut(): void {
    this.open = false;
    for (const s of this.sockets) s.destroy();
  }

  restore(): void {
    this.open = true;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    if (!this.open) {
      client.destroy();
      return;
    }
    const upstream = new Socket();
    upstream.connect(this.targetPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream);
    upstream.pipe(client);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  }
}

/** A temp dir a test removes afterwards. */
export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
