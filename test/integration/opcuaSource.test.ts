// The OPC UA source against a real node-opcua server (a simulated PLC playing pump signals, test/helpers/
// opcuaServer.ts): samples per PLC scan with source timestamps, the link cut and restored with no sample lost,
// a node that goes Bad counted and not taken as a value, an untrusted server certificate refused with a message
// that says what to do. The PLC plays plant seconds in 20 ms, so each case takes a few seconds.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { StatusCodes } from 'node-opcua-status-code';
import type { StreamSamples } from '../../src/core/source';
import type { OpcuaEvents, OpcuaItemRef } from '../../src/core/opcuaEvents';
import { OpcuaSource, type OpcuaSourceOptions } from '../../src/sources/opcua';
import { PUMP_CHANNELS } from '../../src/simulator/signals';
import { testContext } from '../helpers/context';
import { pumpSeries, sleep } from '../helpers/faults';
import { waitFor } from '../helpers/mosquitto';
import { LinkProxy, SimulatedPlc, tempDir } from '../helpers/opcuaServer';
import { makeUserCertificate, type UserCertificate } from '../helpers/userCertificate';

const T0 = Date.parse('2026-01-05T08:00:00Z');

/** Every event the source reported, by name. */
class RecordedOpcuaEvents implements OpcuaEvents {
  readonly log: { name: string; args: unknown[] }[] = [];
  connected = false;
  detail = '';
  connection(connected: boolean, detail: string): void {
    this.connected = connected;
    this.detail = detail;
    this.log.push({ name: 'connection', args: [connected, detail] });
  }
  stopped(why: string): void {
    this.connected = false;
    this.log.push({ name: 'stopped', args: [why] });
  }
  reconnected(detail: string): void {
    this.log.push({ name: 'reconnected', args: [detail] });
  }
  itemRefused(item: OpcuaItemRef, status: string): void {
    this.log.push({ name: 'itemRefused', args: [item, status] });
  }
  itemsMonitored(ok: number, refused: number): void {
    this.log.push({ name: 'itemsMonitored', args: [ok, refused] });
  }
  badValue(item: OpcuaItemRef, quality: string, status: string): void {
    this.log.push({ name: 'badValue', args: [item, quality, status] });
  }
  notNumeric(item: OpcuaItemRef, why: string): void {
    this.log.push({ name: 'notNumeric', args: [item, why] });
  }
  notificationLost(stream: string, seq: number): void {
    this.log.push({ name: 'notificationLost', args: [stream, seq] });
  }
  queueOverflow(item: OpcuaItemRef): void {
    this.log.push({ name: 'queueOverflow', args: [item] });
  }
  subscriptionRecreated(stream: string): void {
    this.log.push({ name: 'subscriptionRecreated', args: [stream] });
  }
  named(name: string): unknown[][] {
    return this.log.filter((e) => e.name === name).map((e) => e.args);
  }
}

describe('OPC UA source', () => {
  const pki = tempDir('anomalyd-opcua-pki-');
  const plcPki = tempDir('anomalyd-plc-pki-');
  after(() => {
    pki.remove();
    plcPki.remove();
  });

  function options(endpointUrl: string, events: OpcuaEvents, over: Partial<OpcuaSourceOptions> = {}): OpcuaSourceOptions {
    return {
      endpointUrl,
      applicationName: 'anomalyd-test',
      security: { mode: 'None', policy: 'None', trustedCerts: [], pkiDir: pki.dir },
      identity: {},
      sessionTimeoutMs: 60_000,
      reconnect: { minDelayMs: 200, maxDelayMs: 1_000, jitter: 0.1 },
      subscriptions: [
        {
          stream: 'line1/pump1',
          index: 3,
          publishingIntervalMs: 50,
          samplingIntervalMs: 0,
          queueSize: 1_000,
          timestamps: 'source',
          // The last channel by browse path, the others by node id.
          items: PUMP_CHANNELS.map((channel, c) =>
            c === PUMP_CHANNELS.length - 1 ? { browsePath: `/Objects/1:Pump1/1:${channel}`, channel } : { nodeId: SimulatedPlc.nodeId('Pump1', channel), channel },
          ),
        },
      ],
      events,
      ...over,
    };
  }

  /** A source delivering into `got`, acknowledging through a counting commit. */
  async function startSource(opts: OpcuaSourceOptions, got: StreamSamples[]): Promise<{ source: OpcuaSource; commits: () => number }> {
    const t = testContext('source.opcua');
    const source = new OpcuaSource(t.ctx, opts);
    let commits = 0;
    await source.start(
      (batch) => {
        got.push(batch);
      },
      () => {
        commits++;
        return true;
      },
    );
    return { source, commits: () => commits };
  }

  const timesOf = (got: readonly StreamSamples[]): number[] => got.flatMap((b) => b.samples.map((s) => s.ts));

  it('delivers one sample per PLC scan, stamped with its source time, and commits before acknowledging', async () => {
    const series = pumpSeries(11, T0, 40);
    const plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: series }], pkiDir: plcPki.dir, paused: true });
    const events = new RecordedOpcuaEvents();
    const got: StreamSamples[] = [];
    const { source, commits } = await startSource(options(plc.endpointUrl, events), got);
    plc.play();
    try {
      assert.equal(source.connected, true, events.detail);
      await waitFor(() => timesOf(got).length >= 40, '40 samples', 15_000, () => timesOf(got).length);
      await sleep(500);
      assert.deepEqual(events.named('itemsMonitored'), [[8, 0]]);
      const samples = got.flatMap((b) => b.samples);
      assert.deepEqual(samples.map((s) => s.ts), series.map((s) => s.ts), 'one sample per scan, at its source time');
      samples.forEach((s, i) => {
        PUMP_CHANNELS.forEach((channel, c) => assert.ok(Math.abs((s.values[c] ?? NaN) - (series[i]?.values[c] ?? NaN)) < 1e-6, `sample ${i} ${channel}`));
      });
      assert.ok(got.every((b) => b.stream === 'line1/pump1' && b.subscription === 3));
      assert.ok(commits() >= 1, 'the journal commit runs after delivery');
    } finally {
      await source.stop();
      await plc.stop();
    }
  });

  it('loses no sample when the link is cut and restored', async () => {
    const series = pumpSeries(12, T0, 300);
    const plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: series }], pkiDir: plcPki.dir, paused: true });
    const proxy = await LinkProxy.start(plc.port);
    const events = new RecordedOpcuaEvents();
    const got: StreamSamples[] = [];
    const { source } = await startSource(options(proxy.endpointUrl, events), got);
    plc.play();
    try {
      await waitFor(() => timesOf(got).length >= 50, '50 samples before the cut', 15_000);
      proxy.cut();
      await waitFor(() => !events.connected, 'the source to notice the cut', 10_000);
      const before = timesOf(got).length;
      await sleep(2_000);
      assert.ok(plc.played - before >= 50, `the PLC went on while the link was down (played ${plc.played}, had ${before})`);
      proxy.restore();
      await waitFor(() => timesOf(got).length >= 300, 'all 300 samples', 30_000, () => ({ got: timesOf(got).length, events: events.log.slice(-3) }));
      await sleep(200);
      assert.deepEqual(timesOf(got), series.map((s) => s.ts), 'every sample once, in order: no gap, no duplicate');
      assert.ok(events.named('reconnected').length >= 1, 'the restored link is reported');
      assert.equal(events.named('queueOverflow').length, 0);
      assert.equal(events.named('notificationLost').length, 0);
    } finally {
      await source.stop();
      await proxy.close();
      await plc.stop();
    }
  });

  it('reconnects by itself when the server restarts: new session, subscriptions made again, samples resume in order', async () => {
    const series = pumpSeries(15, T0, 400);
    const plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: series }], pkiDir: plcPki.dir, paused: true });
    const events = new RecordedOpcuaEvents();
    const got: StreamSamples[] = [];
    const { source, commits } = await startSource(options(plc.endpointUrl, events), got);
    plc.play();
    try {
      await waitFor(() => timesOf(got).length >= 60, '60 samples before the restart', 15_000);
      const restarting = plc.restart(2_000);
      await waitFor(() => !events.connected, 'the source to notice the server went away', 10_000);
      await restarting;
      const before = timesOf(got).length;
      const committed = commits();
      await waitFor(() => events.connected, 'the source to reconnect by itself', 30_000, () => events.log.slice(-4));
      await waitFor(() => timesOf(got).length >= before + 60, '60 samples after the restart', 20_000, () => ({ got: timesOf(got).length, before, events: events.log.slice(-4) }));
      const times = timesOf(got);
      assert.ok(times.every((t, i) => i === 0 || t > (times[i - 1] ?? 0)), 'in order, none twice');
      const known = new Set(series.map((s) => s.ts));
      assert.ok(times.every((t) => known.has(t)), 'every sample is one the PLC played');
      // The server lost its queues: the samples of the outage are a gap, and the source says so.
      assert.ok(times.length < series.findIndex((s) => s.ts === times.at(-1)) + 1, 'the outage is a gap');
      assert.deepEqual(events.named('subscriptionRecreated'), [['line1/pump1']], 'the recreated subscription is reported once');
      assert.ok(commits() > committed, 'samples after the restart are committed before they are acknowledged');
      assert.equal(events.named('notificationLost').length, 0, 'no notification of the new subscription was missing');
    } finally {
      await source.stop();
      await plc.stop();
    }
  });

  it("takes over from the source a reload replaced without taking its last sample again, and moves its indexes", async () => {
    const series = pumpSeries(17, T0, 400);
    const plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: series }], pkiDir: plcPki.dir, paused: true });
    const got: StreamSamples[] = [];
    const first = await startSource(options(plc.endpointUrl, new RecordedOpcuaEvents()), got);
    plc.play();
    const next: { source: OpcuaSource }[] = [];
    try {
      await waitFor(() => timesOf(got).length >= 40, '40 samples', 15_000);
      // The PLC holds still: a new subscription's first values are the sample the old source took last.
      plc.pause();
      await sleep(500);
      await first.source.stop('replaced');
      const handedOver = first.source.delivered();
      const last = timesOf(got).at(-1) ?? 0;
      assert.equal(handedOver.get('line1/pump1'), last);
      // Without the hand-over a new source takes that sample again: what the successor must leave out.
      const fresh: StreamSamples[] = [];
      next.push(await startSource(options(plc.endpointUrl, new RecordedOpcuaEvents()), fresh));
      await waitFor(() => timesOf(fresh).length >= 1, "a fresh source's first sample", 10_000);
      assert.deepEqual(timesOf(fresh), [last]);
      const after: StreamSamples[] = [];
      const successor = await startSource(options(plc.endpointUrl, new RecordedOpcuaEvents(), { resumeAfter: handedOver }), after);
      next.push(successor);
      await sleep(500);
      assert.deepEqual(timesOf(after), [], 'the sample the old source delivered is not taken again');
      plc.play();
      await waitFor(() => timesOf(after).length >= 10, '10 new samples', 15_000);
      successor.source.reindex([7]);
      const moved = after.length;
      await waitFor(() => after.length >= moved + 5, '5 more deliveries', 15_000);
      const times = timesOf(after);
      assert.ok(times[0] !== undefined && times[0] > last && times.every((t, i) => i === 0 || t > (times[i - 1] ?? 0)), 'only new samples, in order');
      assert.ok(after.slice(0, moved).every((b) => b.subscription === 3) && after.slice(moved).every((b) => b.subscription === 7), 'delivered with the index in force');
    } finally {
      for (const n of next) await n.source.stop();
      await first.source.stop();
      await plc.stop();
    }
  });

  it('subscribing while the PLC changes values fast: each stream gets its own samples, each once, none lost', async () => {
    // Two streams (node-opcua numbers client handles per subscription: both have handles 1..8), the first with
    // its items in two parameter groups (two MonitorItems calls, between which the server may publish), made
    // again and again while the PLC plays a sample every 5 ms.
    const series = [pumpSeries(21, T0, 6_000), pumpSeries(22, T0, 6_000)];
    const plc = await SimulatedPlc.start({ assets: series.map((samples, a) => ({ name: `Pump${a + 1}`, samples })), pkiDir: plcPki.dir, tickMs: 5 });
    const byTime = series.map((s) => new Map(s.map((x) => [x.ts, x])));
    const grouped = options(plc.endpointUrl, new RecordedOpcuaEvents()).subscriptions[0];
    assert.ok(grouped);
    const subscriptions = [
      { ...grouped, publishingIntervalMs: 20, items: PUMP_CHANNELS.map((channel, c) => ({ nodeId: SimulatedPlc.nodeId('Pump1', channel), channel, ...(c % 2 === 1 ? { queueSize: 999 } : {}) })) },
      { ...grouped, stream: 'line1/pump2', index: 4, publishingIntervalMs: 20, items: PUMP_CHANNELS.map((channel) => ({ browsePath: `/Objects/1:Pump2/1:${channel}`, channel })) },
    ];
    try {
      for (let round = 0; round < 4; round++) {
        const events = new RecordedOpcuaEvents();
        const got: StreamSamples[] = [];
        const { source } = await startSource(options(plc.endpointUrl, events, { subscriptions }), got);
        const of = (stream: string): { ts: number; values: ArrayLike<number> }[] => got.filter((b) => b.stream === stream).flatMap((b) => b.samples);
        try {
          await waitFor(() => subscriptions.every((s) => of(s.stream).length >= 40), '40 samples per stream', 15_000, () => subscriptions.map((s) => of(s.stream).length));
        } finally {
          await source.stop();
        }
        subscriptions.forEach((sub, a) => {
          const samples = of(sub.stream);
          const times = samples.map((s) => s.ts);
          const from = series[a]?.findIndex((s) => s.ts === times[0]) ?? -1;
          assert.ok(from >= 0, `round ${round} ${sub.stream}: the first sample is one its PLC asset played`);
          assert.deepEqual(times, series[a]?.slice(from, from + times.length).map((s) => s.ts), `round ${round} ${sub.stream}: every sample once, in order, none missing`);
          // A channel is unknown (NaN) until its item's first value: the server samples the items of the second
          // MonitorItems call a PLC scan or two after the first. From then on every value is the one played.
          const known = PUMP_CHANNELS.map(() => false);
          samples.forEach((s, i) => {
            const want = byTime[a]?.get(s.ts);
            PUMP_CHANNELS.forEach((channel, c) => {
              const v = s.values[c] ?? NaN;
              if (!known[c] && Number.isNaN(v)) return;
              known[c] = true;
              assert.ok(Math.abs(v - (want?.values[c] ?? NaN)) < 1e-6, `round ${round} ${sub.stream} sample ${i} ${channel}: ${v}, played ${want?.values[c]}`);
            });
          });
          assert.ok(known.every(Boolean), `round ${round} ${sub.stream}: every channel has values`);
        });
        assert.deepEqual(events.named('itemsMonitored'), [[16, 0]]);
        assert.equal(events.named('notificationLost').length, 0);
      }
    } finally {
      await plc.stop();
    }
  });

  it('counts a node that goes Bad and never takes its status for a value', async () => {
    const series = pumpSeries(13, T0, 60);
    const plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: series }], pkiDir: plcPki.dir, paused: true });
    const events = new RecordedOpcuaEvents();
    const got: StreamSamples[] = [];
    const { source } = await startSource(options(plc.endpointUrl, events), got);
    plc.play();
    try {
      await waitFor(() => timesOf(got).length >= 20, '20 samples', 15_000);
      plc.setStatus('Pump1', 'flow_m3h', StatusCodes.BadSensorFailure);
      await waitFor(() => timesOf(got).length >= 60, '60 samples', 15_000);
      const bad = events.named('badValue');
      assert.ok(bad.length >= 1, 'counted');
      assert.deepEqual(bad[0]?.slice(0, 2), [{ node: SimulatedPlc.nodeId('Pump1', 'flow_m3h'), stream: 'line1/pump1', channel: 'flow_m3h' }, 'bad']);
      const flow = PUMP_CHANNELS.indexOf('flow_m3h');
      const last = got.flatMap((b) => b.samples).slice(-5);
      assert.ok(last.every((s) => Number.isNaN(s.values[flow])), 'the Bad channel is unknown (NaN), not 0');
      assert.ok(last.every((s) => PUMP_CHANNELS.every((_, c) => c === flow || Number.isFinite(s.values[c]))), 'the other channels still carry values');
    } finally {
      await source.stop();
      await plc.stop();
    }
  });

  describe('certificate user identity', () => {
    const certs = tempDir('anomalyd-opcua-usercerts-');
    // Its own client PKI: trusting the PLC's certificate here must not change what the SignAndEncrypt cases see.
    const ownPki = tempDir('anomalyd-opcua-pki-');
    let plc: SimulatedPlc;
    let trusted: UserCertificate;
    let stranger: UserCertificate;
    before(async () => {
      trusted = await makeUserCertificate(certs.dir, 'operator');
      stranger = await makeUserCertificate(certs.dir, 'stranger');
      // secure: an X.509 user token is signed with a security policy, which a server offers only where it has one.
      plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: pumpSeries(16, T0, 2_000) }], pkiDir: plcPki.dir, secure: true, userCertificates: [trusted.certFile] });
    });
    after(async () => {
      await plc.stop();
      certs.remove();
      ownPki.remove();
    });

    it('opens a session as the certificate the server trusts, on an encrypted channel, and receives samples', async () => {
      const events = new RecordedOpcuaEvents();
      const got: StreamSamples[] = [];
      const secure = { mode: 'SignAndEncrypt' as const, policy: 'Basic256Sha256', trustedCerts: [plc.certificateFile], pkiDir: ownPki.dir };
      const identity = { certFile: trusted.certFile, keyFile: trusted.keyFile };
      const { source } = await startSource(options(plc.endpointUrl, events, { security: secure, identity }), got);
      try {
        assert.equal(source.connected, true, events.detail);
        await waitFor(() => timesOf(got).length >= 5, '5 samples', 15_000);
      } finally {
        await source.stop();
      }
    });

    it('refuses a certificate the server does not trust, naming it and its thumbprint, never the key', async () => {
      const events = new RecordedOpcuaEvents();
      const got: StreamSamples[] = [];
      const { source } = await startSource(options(plc.endpointUrl, events, { identity: { certFile: stranger.certFile, keyFile: stranger.keyFile } }), got);
      try {
        assert.equal(source.connected, false);
        const text = events.detail;
        assert.ok(text.includes(`the server refused the identity certificate ${stranger.certFile} (thumbprint ${stranger.thumbprint})`), text);
        assert.match(text, /BadIdentityTokenRejected/);
        const keyBody = stranger.keyPem.split('\n').filter((l) => l.length > 0 && !l.startsWith('-----'));
        assert.ok(keyBody.every((line) => !events.log.some((e) => JSON.stringify(e.args).includes(line))), 'no line of the key in any event');
        await sleep(300);
        assert.equal(got.length, 0);
      } finally {
        await source.stop();
      }
    });
  });

  describe('user name and password', () => {
    // Its own client PKI, as the certificate identity's: trusting the PLC here must not change the other cases.
    const ownPki = tempDir('anomalyd-opcua-pki-');
    let plc: SimulatedPlc;
    before(async () => {
      plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: pumpSeries(15, T0, 2_000) }], pkiDir: plcPki.dir, secure: true, users: { operator: 'pump-secret' } });
    });
    after(async () => {
      await plc.stop();
      ownPki.remove();
    });
    const signed = (): OpcuaSourceOptions['security'] => ({ mode: 'Sign', policy: 'Basic256Sha256', trustedCerts: [plc.certificateFile], pkiDir: ownPki.dir });

    it('opens a session as the user, on a signed channel, and receives samples', async () => {
      const events = new RecordedOpcuaEvents();
      const got: StreamSamples[] = [];
      const { source } = await startSource(options(plc.endpointUrl, events, { security: signed(), identity: { user: 'operator', password: 'pump-secret' } }), got);
      try {
        assert.equal(source.connected, true, events.detail);
        assert.match(events.detail, /Sign, Basic256Sha256/);
        await waitFor(() => timesOf(got).length >= 5, '5 samples', 15_000);
      } finally {
        await source.stop();
      }
    });

    it('refuses a wrong password with a message that names the identity, never the password', async () => {
      const events = new RecordedOpcuaEvents();
      const got: StreamSamples[] = [];
      const { source } = await startSource(options(plc.endpointUrl, events, { security: signed(), identity: { user: 'operator', password: 'not-the-secret' } }), got);
      try {
        assert.equal(source.connected, false);
        assert.match(events.detail, /the server refused the identity in opcua\.identity \(user name and password, or certificate\)/);
        assert.ok(!events.log.some((e) => JSON.stringify(e.args).includes('not-the-secret')), 'the password is in no event');
        await sleep(300);
        assert.equal(got.length, 0);
      } finally {
        await source.stop();
      }
    });
  });

  describe('SignAndEncrypt', () => {
    let plc: SimulatedPlc;
    before(async () => {
      plc = await SimulatedPlc.start({ assets: [{ name: 'Pump1', samples: pumpSeries(14, T0, 2_000) }], secure: true, pkiDir: plcPki.dir });
    });
    after(async () => plc.stop());

    it('refuses a server certificate it does not trust, saying which and what to do', async () => {
      const events = new RecordedOpcuaEvents();
      const got: StreamSamples[] = [];
      const secure = { mode: 'SignAndEncrypt' as const, policy: 'Basic256Sha256', trustedCerts: [], pkiDir: pki.dir };
      const { source } = await startSource(options(plc.endpointUrl, events, { security: secure }), got);
      try {
        assert.equal(source.connected, false);
        assert.match(events.detail, /the server's certificate \(thumbprint [0-9a-f]{40}\) is not trusted: add it to opcua\.security\.trusted_certs/);
        await sleep(300);
        assert.equal(got.length, 0);
      } finally {
        await source.stop();
      }
    });

    it('connects once the server certificate is in trusted_certs, and receives samples encrypted', async () => {
      const events = new RecordedOpcuaEvents();
      const got: StreamSamples[] = [];
      const secure = { mode: 'SignAndEncrypt' as const, policy: 'Basic256Sha256', trustedCerts: [plc.certificateFile], pkiDir: pki.dir };
      const { source } = await startSource(options(plc.endpointUrl, events, { security: secure }), got);
      try {
        assert.equal(source.connected, true, events.detail);
        assert.match(events.detail, /SignAndEncrypt, Basic256Sha256/);
        await waitFor(() => timesOf(got).length >= 5, '5 samples', 15_000);
      } finally {
        await source.stop();
      }
    });
  });
});
