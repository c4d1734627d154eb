// The release as users install it, not the checkout: `npm pack` (prepack builds dist/), then
//  - deploy/README.md's systemd steps, run as written (paths moved under a temp root, `sudo` dropped, systemctl
//    played by this test: the unit's Environment=, EnvironmentFile=, ExecStartPre= and ExecStart=);
//  - `npm install -g` into a temporary prefix, then `anomalyd validate` and `anomalyd run` with the bundled
//    default from an unrelated, empty working directory: ready, scoring on the native addon, nothing written
//    outside state_dir (the working directory stays empty, the package is untouched);
//  - deploy/Dockerfile's build-stage RUN steps on the same tarball (there is no Docker engine here).
// Each install downloads the production dependencies from the registry (npm's cache makes that fast after the
// first time); the test skips, saying so, when the registry cannot be reached. Every child has a timeout.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { metricValue, pollUntil } from '../helpers/faults';
import { startMosquitto, type Mosquitto } from '../helpers/mosquitto';
import { freePort } from '../helpers/ports';

const ROOT = path.resolve(__dirname, '../../..');
const INSTALL_TIMEOUT_MS = 5 * 60_000;
const VERSION = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const TARBALL_NAME = `anomalyd-${VERSION}.tgz`;

let tmp = '';
let stage = '';
let tarball = '';
let skipReason: string | undefined;
let mosquitto: Mosquitto | undefined;
const children: ChildProcess[] = [];

/** This process's environment without what `npm test` exports to its scripts (npm_config_*, npm_command...). */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k) && k !== 'INIT_CWD'));
  return { ...env, ...extra };
}

function sh(script: string, cwd: string, env: NodeJS.ProcessEnv = userEnv(), timeoutMs = INSTALL_TIMEOUT_MS): SpawnSyncReturns<string> {
  const r = spawnSync('sh', ['-ec', script], { cwd, env, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024 });
  assert.equal(r.status, 0, `'${script}' in ${cwd} failed (status ${r.status}, signal ${r.signal}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-6000)}`);
  return r;
}

/** Every file under dir with its size and mtime: a directory is untouched when this does not change. */
function snapshot(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else {
        const s = statSync(p, { throwIfNoEntry: false });
        out.set(path.relative(dir, p), s ? `${s.size}:${s.mtimeMs}` : 'dangling');
      }
    }
  };
  walk(dir);
  return out;
}

function listTree(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

/** A started `anomalyd run`: its output, /readyz, /metrics, and a clean stop. */
class Daemon {
  log = '';
  readonly exited: Promise<number | null>;
  private readonly child: ChildProcess;

  constructor(cmd: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv }, readonly port: number) {
    this.child = spawn(cmd, args, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(this.child);
    this.child.stdout?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.child.stderr?.on('data', (d: Buffer) => (this.log += d.toString()));
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  async ready(timeoutMs = 60_000): Promise<void> {
    await pollUntil(
      `/readyz 200 (log:\n${this.log.slice(-3000)})`,
      async () => (this.child.exitCode !== null ? -1 : await fetch(`http://127.0.0.1:${this.port}/readyz`).then((r) => r.status, () => 0)),
      (status) => status === 200 || status === -1,
      timeoutMs,
    ).then((status) => assert.equal(status, 200, `anomalyd exited before it was ready:\n${this.log.slice(-4000)}`));
  }

  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const text = await fetch(`http://127.0.0.1:${this.port}/metrics`).then((r) => r.text(), () => '');
    return metricValue(text, name, labels);
  }

  async stop(): Promise<number | null> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    const code = await this.exited;
    clearTimeout(timer);
    return code;
  }
}

/** The first ```sh block after `heading` in a Markdown file. */
function shellBlock(markdown: string, heading: string): string[] {
  const at = markdown.indexOf(`\n${heading}\n`);
  assert.ok(at >= 0, `no "${heading}" section`);
  const m = /```sh\n([\s\S]*?)```/.exec(markdown.slice(at));
  assert.ok(m, `no sh block under "${heading}"`);
  return m[1].split('\n').filter((l) => l.trim() !== '');
}

before(async () => {
  const ping = spawnSync('npm', ['ping'], { env: userEnv(), encoding: 'utf8', timeout: 30_000 });
  if (ping.status !== 0) {
    skipReason = `the npm registry is not reachable (npm ping: ${(ping.stderr || String(ping.error)).trim().split('\n')[0]})`;
    return;
  }
  tmp = mkdtempSync(path.join(tmpdir(), 'anomalyd-packaged-'));
  // A checkout as the image's build stage sees it: what deploy/Dockerfile COPYs from the context (not the
  // addon's local build/), plus deploy/ for the systemd steps. Its dev dependencies are this checkout's.
  stage = path.join(tmp, 'checkout');
  const dockerfile = readFileSync(path.join(ROOT, 'deploy', 'Dockerfile'), 'utf8');
  const buildStage = dockerfile.slice(0, dockerfile.lastIndexOf('\nFROM '));
  for (const m of buildStage.matchAll(/^COPY (?!--)(.+)$/gm)) {
    const parts = m[1].trim().split(/\s+/);
    for (const src of parts.slice(0, -1)) {
      cpSync(path.join(ROOT, src), path.join(stage, src), { recursive: true, filter: (f) => !/[\\/]packages[\\/][^\\/]+[\\/]build$/.test(f) });
    }
  }
  cpSync(path.join(ROOT, 'deploy'), path.join(stage, 'deploy'), { recursive: true });
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(stage, 'node_modules'));
  mosquitto = await startMosquitto();
});

after(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await mosquitto?.close();
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test("deploy/README.md's systemd steps install the tarball with --omit=dev, build the native addon, and the unit runs", { timeout: 15 * 60_000 }, async (t) => {
  if (skipReason) return t.skip(skipReason);
  const root = path.join(tmp, 'host');
  const moved = (text: string): string =>
    text.replace(/\/(opt\/anomalyd|etc\/anomalyd|var\/lib\/anomalyd|etc\/systemd\/system)\b/g, (m) => path.join(root, m)).replaceAll('/usr/bin/node', process.execPath);

  const steps = shellBlock(readFileSync(path.join(ROOT, 'deploy', 'README.md'), 'utf8'), '## systemd');
  assert.match(steps[0] ?? '', new RegExp(`^npm pack\\b`), 'the steps start by packing the release');
  assert.ok(steps.some((s) => s.includes(TARBALL_NAME)), `the steps install ${TARBALL_NAME} (package.json version)`);
  const systemctl = steps.filter((s) => /\bsystemctl\b/.test(s));
  assert.ok(systemctl.length > 0 && steps.at(-1) === systemctl.at(-1), 'systemctl comes last (played below)');
  mkdirSync(path.join(root, 'etc', 'systemd', 'system'), { recursive: true });
  const script = steps.filter((s) => !systemctl.includes(s)).map((s) => moved(s.replace(/\bsudo /g, ''))).join('\n');
  sh(script, stage);
  tarball = path.join(stage, TARBALL_NAME);
  assert.ok(existsSync(tarball));
  const listing = sh(`tar -tzf ${TARBALL_NAME}`, stage).stdout.split('\n');
  assert.ok(listing.includes('package/dist/main.js'), 'the tarball carries dist/');
  assert.ok(!listing.some((f) => f.includes('/build/')), "the tarball carries no build output of this machine's addon");

  const pkg = path.join(root, 'opt', 'anomalyd', 'node_modules', 'anomalyd');
  assert.ok(existsSync(path.join(pkg, 'dist', 'main.js')));
  assert.ok(!existsSync(path.join(root, 'opt', 'anomalyd', 'node_modules', 'typescript')), '--omit=dev: no dev dependencies');
  assert.ok(existsSync(path.join(root, 'opt', 'anomalyd', 'node_modules', 'anomalyd-native', 'build', 'Release', 'anomalyd_native.node')), 'the native addon was built at install');

  // systemctl enable --now, played: the unit's environment, its state directory, ExecStartPre, then ExecStart.
  const unit = moved(readFileSync(path.join(root, 'etc', 'systemd', 'system', 'anomalyd.service'), 'utf8'));
  const values = (key: string): string[] => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]);
  const httpPort = await freePort();
  const envFile = values('EnvironmentFile')[0]?.replace(/^-/, '') ?? '';
  assert.ok(envFile.startsWith(root), `EnvironmentFile under /etc/anomalyd (${envFile})`);
  // What an operator writes there: the plant's broker (here the test's Mosquitto) and the HTTP port.
  writeFileSync(envFile, `MQTT_URL=${mosquitto?.url ?? ''}\nHTTP_PORT=${httpPort}\n`);
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH };
  for (const kv of values('Environment')) env[kv.slice(0, kv.indexOf('='))] = kv.slice(kv.indexOf('=') + 1);
  for (const line of readFileSync(envFile, 'utf8').split('\n').filter(Boolean)) env[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  const stateDir = path.join(root, 'var', 'lib', values('StateDirectory')[0] ?? '');
  mkdirSync(stateDir, { recursive: true });
  const cwd = values('WorkingDirectory')[0] ?? '/';
  const [pre, ...preArgs] = (values('ExecStartPre')[0] ?? '').split(' ');
  const validated = spawnSync(pre, preArgs, { cwd, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(validated.status, 0, `ExecStartPre failed:\n${validated.stdout}${validated.stderr}`);

  const [cmd, ...args] = (values('ExecStart')[0] ?? '').split(' ');
  const daemon = new Daemon(cmd, args, { cwd, env }, httpPort);
  await daemon.ready();
  assert.equal(await daemon.metric('anomalyd_model_info', { model: 'pump', backend: 'native' }), 1, 'the pump model runs on the native addon');
  assert.equal(await daemon.stop(), 0, daemon.log.slice(-3000));
  assert.ok(readdirSync(stateDir).length > 0, 'state kept under StateDirectory');
});

test('npm install -g of the tarball: validate and run the bundled demo from an unrelated directory', { timeout: 10 * 60_000 }, async (t) => {
  if (skipReason) return t.skip(skipReason);
  assert.ok(tarball, 'the systemd test packed the tarball');
  const prefix = path.join(tmp, 'global');
  sh(`npm install -g --no-audit --no-fund ${JSON.stringify(tarball)}`, tmp, userEnv({ npm_config_prefix: prefix }));
  const bin = path.join(prefix, 'bin', 'anomalyd');
  const pkg = path.join(prefix, 'lib', 'node_modules', 'anomalyd');
  assert.ok(existsSync(path.join(pkg, 'node_modules', 'anomalyd-native', 'build', 'Release', 'anomalyd_native.node')) || existsSync(path.join(pkg, 'packages', 'anomalyd-native', 'build', 'Release', 'anomalyd_native.node')), 'the native addon was built');
  const before = snapshot(pkg);

  // A user's shell elsewhere: an empty working directory, a home of its own, no STATE_DIR or XDG_STATE_HOME.
  const cwd = path.join(tmp, 'somewhere');
  const home = path.join(tmp, 'home');
  mkdirSync(cwd);
  mkdirSync(home);
  const env: NodeJS.ProcessEnv = { PATH: `${path.join(prefix, 'bin')}:${process.env.PATH ?? ''}`, HOME: home };
  const stateDir = path.join(home, '.local', 'state', 'anomalyd');

  const validated = spawnSync(bin, ['validate', '--json'], { cwd, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(validated.status, 0, `${validated.stdout}${validated.stderr}`);
  assert.deepEqual(JSON.parse(validated.stdout), { file: path.join(pkg, 'config', 'default.yaml'), ok: true, problems: [], warnings: [] });

  const httpPort = await freePort();
  const mqttPort = await freePort();
  const daemon = new Daemon(bin, ['run'], { cwd, env: { ...env, HTTP_PORT: String(httpPort), MQTT_URL: `mqtt://127.0.0.1:${mqttPort}` } }, httpPort);
  await daemon.ready();
  // The embedded broker and simulator: the first 30-sample windows of the three pumps are scored after ~30 s.
  await pollUntil('scored windows', () => daemon.metric('anomalyd_windows_scored_total'), (n) => n > 0, 120_000, 500);
  assert.equal(await daemon.metric('anomalyd_model_info', { model: 'pump', backend: 'native' }), 1);
  assert.equal(await daemon.stop(), 0, daemon.log.slice(-3000));

  assert.deepEqual(listTree(cwd), [], 'nothing written in the working directory');
  const written = listTree(home).filter((f) => !path.join(home, f).startsWith(stateDir) && !stateDir.startsWith(path.join(home, f)));
  assert.deepEqual(written, [], 'nothing written in the home directory outside the state directory');
  assert.ok(readdirSync(stateDir).length > 0, `state kept in ${stateDir}`);
  assert.deepEqual(snapshot(pkg), before, 'the installed package is untouched');
  assert.deepEqual(daemon.log.split('\n').filter((l) => /^\S+ ERROR /.test(l)), [], 'no error-level line');
});

test("deploy/Dockerfile's build-stage RUN steps on the tarball: production install from the lock, native addon, no tfjs-node", { timeout: 10 * 60_000 }, (t) => {
  if (skipReason) return t.skip(skipReason);
  assert.ok(tarball, 'the systemd test packed the tarball');
  const dockerfile = readFileSync(path.join(ROOT, 'deploy', 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const buildStage = dockerfile.slice(0, dockerfile.lastIndexOf('\nFROM '));
  // From `WORKDIR /app` on: unpack the tarball made by `RUN npm pack` (done above), install, build, check.
  const appSteps = buildStage.slice(buildStage.indexOf('\nWORKDIR /app\n'));
  const runs = [...appSteps.matchAll(/^RUN (.+)$/gm)].map((m) => m[1].replace(/\/tmp\/anomalyd-\*\.tgz/g, JSON.stringify(tarball)).replaceAll('/src/', `${stage}/`));
  assert.ok(runs.length >= 2, `RUN steps after WORKDIR /app: ${runs.join(' | ')}`);
  const app = path.join(tmp, 'app');
  mkdirSync(app);
  for (const run of runs) sh(run, app);
  assert.ok(!existsSync(path.join(app, 'node_modules', '@tensorflow', 'tfjs-node')), 'no tfjs-node in the image');
  assert.ok(!existsSync(path.join(app, 'node_modules', 'typescript')), 'no dev dependencies in the image');
  // The runtime stage's command line: the compose config as mounted, with the image's environment.
  const etc = path.join(tmp, 'docker-etc');
  mkdirSync(etc);
  cpSync(path.join(ROOT, 'deploy', 'anomalyd', 'config.yaml'), path.join(etc, 'config.yaml'));
  const env = { PATH: process.env.PATH, MODELS_DIR: path.join(app, 'models'), STATE_DIR: path.join(tmp, 'docker-state'), HTTP_PORT: '9464' };
  const r = spawnSync(process.execPath, ['dist/main.js', 'validate', '-c', path.join(etc, 'config.yaml')], { cwd: app, env, encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});
