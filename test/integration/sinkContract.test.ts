// The contract every sink keeps, run against each one (console, capture, webhook, Alertmanager, InfluxDB, MQTT out)
// with a real receiver: a node:http webhook receiver, a real Alertmanager, a real InfluxDB and a real Mosquitto
// with a subscriber (test/helpers). The sinks
// a config can ask for are built through the sink registry (planSinks), as the daemon builds them.
//   - flush: everything accepted reaches the receiver (or, for the webhook, its outbox on disk) or is counted
//     as dropped;
//   - stop: nothing is lost; what stop() could not deliver is delivered by the next instance on the same
//     state_dir (webhook outbox, InfluxDB spool) or counted as dropped;
//   - stats are honest: the written count equals what the receiver holds, the dropped count what it refused;
//   - a reload keeps what it promises: an unchanged sink is the same instance, a changed one is rebuilt and the
//     old one stopped (flushed) before the new one starts, and nothing is lost between them.
// Each case has receivers that refuse some items where the sink can be refused (webhook: a 400 answer;
// InfluxDB: a field type conflict; capture: its bound), so the dropped count is tested, not only zero.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfigText } from '../../src/config/load';
import type { Config } from '../../src/config/schema';
import type { AlertNotice } from '../../src/core/alert';
import { planSinkSwap, type ActiveSink } from '../../src/app/reload';
import { planSinks, type PlannedSink } from '../../src/app/sinks';
import { CaptureSink } from '../../src/sinks/capture';
import type { Sink } from '../../src/sinks/sink';
import { getAlerts, startAlertmanager, type AlertmanagerProcess } from '../helpers/alertmanager';
import { testContext, type TestContext } from '../helpers/context';
import { pollUntil } from '../helpers/faults';
import { startInfluxd, type Influxd } from '../helpers/influxd';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { connectAsync } from 'mqtt';

/** Items each test writes. */
const N = 40;
/** Every REFUSE_EVERY-th item is one the receiver refuses. */
const REFUSE_EVERY = 7;
// A recent base time, so every point falls in one shard of the default retention policy.
const T0 = Math.floor((Date.now() - 86_400_000) / 1000) * 1000;

let influxd: Influxd;
let am: AlertmanagerProcess;
let mosquitto: Mosquitto;
const dirs: string[] = [];

before(async () => {
  [influxd, am, mosquitto] = await Promise.all([startInfluxd(), startAlertmanager(), startMosquitto()]);
});

after(async () => {
  await Promise.all([influxd?.stop(), am?.stop(), mosquitto?.close()]);
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** One test's receiver and how to write to and count at it. */
interface Run {
  /** The body of the config's `sinks:` section (variant 1 changes one setting of the kind); absent: not configurable. */
  readonly sinks?: (variant: 0 | 1) => string;
  /** Top-level YAML the sink also reads (mqtt_out: the broker of `mqtt`). */
  readonly top?: string;
  /** Builds the sink when no config can (capture). */
  readonly build?: () => Sink;
  /** Where the console sink writes. */
  readonly stdout?: (line: string) => void;
  write(sink: Sink, i: number): void;
  /** Distinct items the receiver holds. */
  received(): Promise<number>;
  /** Distinct items the receiver refused (or the sink had to drop by its own rule). */
  refused(): Promise<number>;
  /** What the sink counted, for a sink that reports by fields instead of events (capture). */
  counted?(sink: Sink): Counts;
  close(): Promise<void>;
}

interface SinkCase {
  readonly name: string;
  /** Whether stop() keeps what it could not deliver for the next instance on the same state_dir. */
  readonly persists: boolean;
  /** Whether flush() waits for delivery (true) or only until what it holds is on disk (the webhook outbox). */
  readonly flushDelivers: boolean;
  open(tag: string): Promise<Run>;
}

interface Counts {
  readonly written: number;
  readonly dropped: number;
}

function notice(tag: string, i: number): AlertNotice {
  return {
    fingerprint: `${tag}-${i}`,
    stream: `${tag}/asset${i}`,
    model: 'pump',
    kind: 'anomaly',
    status: 'firing',
    severity: 'warning',
    startsAt: Date.now() - 60_000,
    endsAt: null,
    score: 0.5,
    threshold: 0.1,
    pValue: 1e-4,
    topChannels: [{ channel: 'vib_x', share: 0.7 }],
    sequence: i + 1,
    labels: { contract: tag },
  };
}

/**
 * A webhook receiver that refuses (400) the notices `refuse` picks by idempotency key, the same on every attempt,
 * so a notice redelivered after a stop is answered as before. (HookReceiver in helpers/faults.ts answers by
 * request count, which a redelivery would shift.)
 */
async function hookReceiver(refuse: (key: string) => boolean): Promise<{ url: string; answers: { key: string; status: number }[]; close(): Promise<void> }> {
  const answers: { key: string; status: number }[] = [];
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const key = String(req.headers['idempotency-key']);
      const status = refuse(key) ? 400 : 200;
      answers.push({ key, status });
      res.writeHead(status).end(status === 200 ? 'ok' : 'refused');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`,
    answers,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

const CASES: readonly SinkCase[] = [
  {
    name: 'console',
    persists: false,
    flushDelivers: true,
    open: (tag) => {
      const lines: string[] = [];
      return Promise.resolve({
        sinks: () => '  console: { enabled: true }\n',
        stdout: (line: string) => void lines.push(line),
        write: (sink: Sink, i: number) => sink.writeAlert?.(notice(tag, i)),
        received: () => Promise.resolve(lines.length),
        refused: () => Promise.resolve(0),
        close: () => Promise.resolve(),
      });
    },
  },
  {
    name: 'capture',
    persists: false,
    flushDelivers: true,
    open: () => {
      // Bounded below N, so the oldest scores are dropped and counted.
      const sink = new CaptureSink('capture', N - 3);
      const capture = (s: Sink): CaptureSink => {
        assert.ok(s instanceof CaptureSink);
        return s;
      };
      return Promise.resolve({
        build: () => sink,
        write: (s: Sink, i: number) => s.writeScores?.([{ stream: 's', model: 'm', time: T0 + i, score: i, threshold: 1, pValue: 0.5, anomalous: false, completeness: 1, channelShares: {} }]),
        received: () => Promise.resolve(sink.scores.length),
        refused: () => Promise.resolve(sink.droppedScores),
        counted: (s: Sink) => ({ written: capture(s).scores.length, dropped: capture(s).droppedScores }),
        close: () => Promise.resolve(),
      });
    },
  },
  {
    name: 'webhook',
    persists: true,
    flushDelivers: false,
    open: async () => {
      const rx = await hookReceiver((key) => Number(/-(\d+)$/.exec(key)?.[1]) % REFUSE_EVERY === 0);
      const keys = (ok: boolean): Set<string> => new Set(rx.answers.filter((a) => a.status < 300 === ok).map((a) => a.key));
      return {
        sinks: (v: 0 | 1) => `  webhooks:\n    - { name: contract, url: ${rx.url}, timeout_ms: ${v === 0 ? 2000 : 3000}, retry_base_ms: 50 }\n`,
        write: (sink: Sink, i: number) => sink.writeAlert?.(notice('wh', i)),
        received: () => Promise.resolve(keys(true).size),
        refused: () => Promise.resolve(keys(false).size),
        close: () => rx.close(),
      };
    },
  },
  {
    name: 'alertmanager',
    persists: false,
    flushDelivers: true,
    open: (tag) =>
      Promise.resolve({
        // Reposts every 10 minutes: none within a test, so each alert is posted (and counted) once.
        sinks: (v: 0 | 1) => `  alertmanager: { url: ${am.url}, repost_interval_ms: 600000, timeout_ms: ${v === 0 ? 2000 : 3000}, retry_base_ms: 50 }\n`,
        write: (sink: Sink, i: number) => sink.writeAlert?.(notice(tag, i)),
        received: async () => (await getAlerts(am.url)).filter((a) => a.labels['contract'] === tag).length,
        refused: () => Promise.resolve(0),
        close: () => Promise.resolve(),
      }),
  },
  {
    name: 'influx',
    persists: true,
    flushDelivers: true,
    open: async (tag) => {
      const db = `contract_${tag.replace(/\W/g, '_')}`;
      await influxd.query(`CREATE DATABASE ${db}`);
      // share_odd is a string field in this shard: a point with a float share_odd is refused (field type conflict).
      const seeded = await influxd.writeLines(db, `anomaly_score,stream=seed,model=x share_odd="text" ${T0}`);
      assert.equal(seeded.status, 204);
      let refused = 0;
      return {
        sinks: (v: 0 | 1) => `  influx: { url: ${influxd.url}/${db}, flush_interval_ms: 20, batch_size: ${v === 0 ? 16 : 12} }\n`,
        write: (sink: Sink, i: number) => {
          const odd = i % REFUSE_EVERY === REFUSE_EVERY - 1;
          if (odd) refused++;
          const shares: Record<string, number> = odd ? { odd: 0.5 } : { vib_x: 0.75, current: 0.25 };
          sink.writeScores?.([{ stream: tag, model: 'pump', time: T0 + (i + 1) * 1000, score: i / 100, threshold: 0.5, pValue: 0.2, anomalous: false, completeness: 1, channelShares: shares }]);
        },
        received: async () => Number((await influxd.query(`SELECT count(score) FROM anomaly_score WHERE stream = '${tag}'`, db))[0]?.values?.[0]?.[1] ?? 0),
        refused: () => Promise.resolve(refused),
        close: () => Promise.resolve(),
      };
    },
  },
  {
    name: 'mqtt_out',
    persists: true,
    flushDelivers: false,
    open: async (tag) => {
      // A subscriber to the alert states; each notice has a stream of its own, so a key is one retained topic.
      const rx = await connectAsync(mosquitto.url, { clientId: `contract-${tag}`, reconnectPeriod: 200 });
      const keys = new Set<string>();
      rx.on('message', (_topic, payload) => keys.add((JSON.parse(payload.toString()) as { key: string }).key));
      await rx.subscribeAsync(`anomalyd/${tag}/#`, { qos: 1 });
      return {
        top: `mqtt: { url: ${mosquitto.url}, client_id: ${tag} }\n`,
        sinks: (v: 0 | 1) => `  mqtt_out: { max_outbox_notices: ${v === 0 ? 10000 : 20000} }\n`,
        write: (sink: Sink, i: number) => sink.writeAlert?.(notice(tag, i)),
        received: () => Promise.resolve(keys.size),
        // The broker cannot refuse a publish under MQTT 3.1.1 (an ACL drops it silently): nothing is refused.
        refused: () => Promise.resolve(0),
        close: () => rx.endAsync(true),
      };
    },
  },
];

let runs = 0;

/** A test's run of one case: its receiver, a state_dir, one TestContext recording every instance's events. */
async function open(c: SinkCase): Promise<{ run: Run; t: TestContext; config: (variant: 0 | 1) => Config }> {
  const tag = `${c.name}${++runs}x${process.pid}`;
  const run = await c.open(tag);
  const stateDir = await mkdtemp(path.join(tmpdir(), 'sink-contract-'));
  dirs.push(stateDir);
  const config = (variant: 0 | 1): Config =>
    loadConfigText(`state_dir: ${stateDir}\n${run.top ?? ''}sinks:\n${run.sinks?.(variant) ?? '  webhooks: []\n'}`, path.join(stateDir, 'anomalyd.yaml'), {});
  return { run, t: testContext(`sink.${c.name}`), config };
}

/** The daemon's plan for a config: the case's sink, built by the registry's factory when started. */
function planned(run: Run, t: TestContext, config: Config): PlannedSink[] {
  const plans = planSinks(config, () => t.ctx, 'http://anomalyd.test/', run.stdout ? { stdout: run.stdout } : {});
  assert.equal(plans.length, 1, 'the config asks for exactly this sink');
  return plans;
}

/** Builds the case's sink as the daemon would (through the registry), or directly when no config can. */
function plan(run: Run, t: TestContext, config: Config): readonly ActiveSink[] {
  if (run.build) return [{ key: 'built', settings: '', sink: run.build() }];
  return planSinkSwap([], planned(run, t, config)).sinks;
}

function only(sinks: readonly ActiveSink[]): Sink {
  const [first] = sinks;
  assert.ok(first && sinks.length === 1);
  return first.sink;
}

function counted(run: Run, t: TestContext, sink: Sink): Counts {
  if (run.counted) return run.counted(sink);
  return {
    written: t.calls('sinkWritten').reduce((n, [, count]) => n + count, 0),
    dropped: t.calls('sinkDropped').reduce((n, [, , count]) => n + count, 0),
  };
}

/** Waits until every one of `total` items is at the receiver or refused, then checks the sink's counts. */
async function settled(run: Run, t: TestContext, sink: Sink, total: number): Promise<void> {
  const state = async (): Promise<{ received: number; refused: number }> => ({ received: await run.received(), refused: await run.refused() });
  const { received, refused } = await pollUntil('every item received or refused', state, (s) => s.received + s.refused >= total, 20_000, 100);
  assert.equal(received + refused, total, 'nothing lost, nothing duplicated');
  assert.deepEqual(counted(run, t, sink), { written: received, dropped: refused }, 'the counts are what the receiver got and refused');
}

for (const c of CASES) {
  describe(`the ${c.name} sink keeps the sink contract`, () => {
    it('flush: everything accepted is delivered or counted as dropped', async () => {
      const { run, t, config } = await open(c);
      const sink = only(plan(run, t, config(0)));
      await sink.start();
      for (let i = 0; i < N; i++) run.write(sink, i);
      await sink.flush();
      if (c.flushDelivers) assert.equal((await run.received()) + (await run.refused()), N, 'delivered or refused by the time flush() resolved');
      await settled(run, t, sink, N);
      assert.equal(sink.stats().buffered, 0, 'nothing left in memory');
      await sink.stop();
      await run.close();
    });

    it('stop: nothing lost; what is not delivered is counted as dropped or left to the next instance', async () => {
      const { run, t, config } = await open(c);
      const first = only(plan(run, t, config(0)));
      await first.start();
      for (let i = 0; i < N; i++) run.write(first, i);
      await first.stop();
      if (!c.persists) {
        // Nothing survives this instance: stop() delivered everything, or counted what it could not.
        const now = { received: await run.received(), refused: await run.refused() };
        assert.equal(now.received + counted(run, t, first).dropped, N, 'delivered or counted by the time stop() resolved');
        await settled(run, t, first, N);
        await run.close();
        return;
      }
      // The next instance on the same state_dir delivers the rest (the outbox or spool the first one kept).
      const second = only(plan(run, t, config(0)));
      await second.start();
      await settled(run, t, second, N);
      await second.stop();
      await run.close();
    });

    it('reload: an unchanged sink is the same instance; a changed one is rebuilt after the old one stopped', { skip: c.name === 'capture' ? 'no config builds it' : false }, async () => {
      const { run, t, config } = await open(c);
      const active = plan(run, t, config(0));
      const old = only(active);
      await old.start();
      for (let i = 0; i < N / 2; i++) run.write(old, i);

      const same = planSinkSwap(active, planned(run, t, config(0)));
      assert.equal(only(same.sinks), old, 'unchanged settings: the running instance is kept');
      assert.deepEqual([same.started.length, same.stopped.length], [0, 0]);

      const changed = run.sinks?.(1) !== run.sinks?.(0);
      const swap = planSinkSwap(active, planned(run, t, config(1)));
      const next = only(swap.sinks);
      if (!changed) {
        assert.equal(next, old);
      } else {
        assert.notEqual(next, old, 'changed settings: a new instance');
        assert.deepEqual([swap.stopped.map((a) => a.sink), swap.started.map((a) => a.sink)], [[old], [next]]);
      }
      // The daemon's order (Daemon.swapSinks): writes go to the new sink at once (it holds them until started),
      // the old one stops (flushing or persisting what it holds), then the new one starts.
      for (let i = N / 2; i < N; i++) run.write(next, i);
      for (const s of swap.stopped) await s.sink.stop();
      for (const s of swap.started) await s.sink.start();
      await settled(run, t, next, N);
      await next.stop();
      await run.close();
    });
  });
}
