#!/usr/bin/env node
// A local Redis Cluster for adapter-redis's tests, benchmarks and demos: Debian's
// `redis-server` on 127.0.0.1 only, masters and replicas on fixed high ports, data in a temp
// folder. `stop` ends exactly the processes `start` recorded (by pid), never by name.
//
//   node scripts/redis-cluster.mjs start [--base-port 30001] [--masters 3] [--replicas 1] [--password pw] [--single]
//   node scripts/redis-cluster.mjs stop  [--base-port 30001]
//   node scripts/redis-cluster.mjs status [--base-port 30001]
//
// `--single` starts one plain (non-cluster) node on --base-port instead. `start` prints the
// seed nodes (`127.0.0.1:30001,...`), the value of EMBEDDING_LAYER_REDIS_NODES.
// Also importable: startCluster, stopCluster, readState, redisServerPath.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOST = '127.0.0.1';

/** The path of an executable on PATH, or null. */
function which(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, name);
    if (dir && existsSync(p)) return p;
  }
  return null;
}

/** Where `redis-server` is, or null when it is not installed (Debian: `apt-get install redis-server`). */
export function redisServerPath() {
  return which('redis-server');
}

function stateFile(basePort) {
  return join(tmpdir(), `embedding-layer-redis-${basePort}.json`);
}

/** The recorded state of a running cluster started on `basePort`, or null. */
export function readState(basePort = 30001) {
  const file = stateFile(basePort);
  if (!existsSync(file)) return null;
  return JSON.parse(readFileSync(file, 'utf8'));
}

/** Sends one inline command and resolves with the raw reply text (enough for PING / INFO / CLUSTER INFO). */
export function rawCommand(port, words, password) {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: HOST, port });
    let data = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no reply from ${HOST}:${port}`));
    }, 2000);
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('connect', () => {
      const cmds = [];
      if (password) cmds.push(['AUTH', password]);
      cmds.push(words);
      socket.write(cmds.map((w) => `*${w.length}\r\n${w.map((x) => `$${Buffer.byteLength(x)}\r\n${x}\r\n`).join('')}`).join(''));
    });
    socket.on('data', (chunk) => {
      data += chunk.toString('utf8');
      // A bulk reply is complete when its announced length has arrived; simple replies end at \r\n.
      const replies = password ? 2 : 1;
      let text = data;
      let done = 0;
      while (text.length > 0 && done < replies) {
        if (text[0] === '$') {
          const nl = text.indexOf('\r\n');
          if (nl < 0) return;
          const len = Number(text.slice(1, nl));
          if (len < 0) {
            text = text.slice(nl + 2);
          } else {
            if (text.length < nl + 2 + len + 2) return;
            text = text.slice(nl + 2 + len + 2);
          }
        } else {
          const nl = text.indexOf('\r\n');
          if (nl < 0) return;
          text = text.slice(nl + 2);
        }
        done++;
      }
      if (done < replies) return;
      clearTimeout(timer);
      socket.end();
      resolve(data);
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what, check, timeoutMs = 20_000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ''}`);
}

/** Starts one redis-server on `port` with its data in `dir`; resolves with its pid once it answers PING. */
export async function startNode({ port, dir, cluster, password, server = redisServerPath() }) {
  mkdirSync(dir, { recursive: true });
  const args = [
    '--port',
    String(port),
    '--bind',
    HOST,
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
  ];
  // The cluster bus on port - 8000 (30001 -> 22001), not Redis's default port + 10000: 40001 and up
  // lie in Linux's ephemeral port range, where an outgoing connection can hold them.
  if (cluster) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000');
    args.push('--cluster-port', String(port - 8000));
  }
  if (password) args.push('--requirepass', password, '--masterauth', password);
  const out = openSync(join(dir, 'stdout.log'), 'a');
  const child = spawn(server, args, { detached: true, stdio: ['ignore', out, out] });
  child.unref();
  try {
    await waitFor(`redis-server on ${HOST}:${port}`, async () => (await rawCommand(port, ['PING'], password)).includes('PONG'));
  } catch (error) {
    // The data folder is removed on failure: keep the end of the server's log in the message.
    const log = ['redis.log', 'stdout.log']
      .map((f) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8').slice(-600) : ''))
      .join('\n');
    throw new Error(`${error.message}\n${log.trim()}`);
  }
  return child.pid;
}

/**
 * Starts `masters` masters with `replicas` replicas each on ports basePort.. (or one plain node
 * with `single`), data in a fresh temp folder. Returns the recorded state
 * `{ basePort, ports, pids: {port: pid}, dir, seeds, password }`.
 */
export async function startCluster({ basePort = 30001, masters = 3, replicas = 1, password, single = false } = {}) {
  const server = redisServerPath();
  if (!server) throw new Error('redis-server is not on PATH: install it (Debian: apt-get install -y redis-server).');
  if (readState(basePort)) await stopCluster({ basePort });
  const dir = mkdtempSync(join(tmpdir(), `embedding-layer-redis-${basePort}-`));
  const count = single ? 1 : masters * (1 + replicas);
  const ports = Array.from({ length: count }, (_, i) => basePort + i);
  const state = { basePort, ports, pids: {}, dir, password: password ?? null, single, seeds: '' };
  const save = () => writeFileSync(stateFile(basePort), JSON.stringify(state, null, 2));
  try {
    for (const port of ports) {
      state.pids[port] = await startNode({ port, dir: join(dir, String(port)), cluster: !single, password, server });
      save();
    }
    if (!single) {
      const cli = which('redis-cli');
      const args = ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', String(replicas), '--cluster-yes'];
      if (password) args.push('-a', password, '--no-auth-warning');
      const res = spawnSync(cli, args, { encoding: 'utf8' });
      if (res.status !== 0) throw new Error(`redis-cli --cluster create failed: ${res.stdout}\n${res.stderr}`);
      for (const port of ports) {
        await waitFor(`cluster_state:ok on ${port}`, async () =>
          (await rawCommand(port, ['CLUSTER', 'INFO'], password)).includes('cluster_state:ok'),
        );
      }
      // Every replica attached and in sync, so that a failover has somewhere to go.
      await waitFor(`${masters * replicas} replicas in sync`, async () => {
        const nodes = await rawCommand(ports[0], ['CLUSTER', 'NODES'], password);
        return (nodes.match(/ slave /g) ?? []).length === masters * replicas;
      });
      for (const port of ports.slice(masters)) {
        await waitFor(`replica ${port} in sync`, async () =>
          (await rawCommand(port, ['INFO', 'replication'], password)).includes('master_link_status:up'),
        );
      }
    }
    state.seeds = (single ? ports : ports.slice(0, masters)).map((p) => `${HOST}:${p}`).join(',');
    save();
    return state;
  } catch (e) {
    await stopCluster({ basePort });
    throw e;
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Stops exactly the processes recorded by `startCluster` on `basePort` (by pid) and removes their data folder. */
export async function stopCluster({ basePort = 30001 } = {}) {
  const state = readState(basePort);
  if (!state) return;
  const pids = Object.values(state.pids);
  for (const pid of pids) {
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {}
    }
  }
  const end = Date.now() + 10_000;
  while (pids.some(alive) && Date.now() < end) await sleep(50);
  for (const pid of pids) {
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
  }
  if (state.dir?.startsWith(tmpdir())) rmSync(state.dir, { recursive: true, force: true });
  rmSync(stateFile(basePort), { force: true });
}

function option(args, name, fallback) {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, ...args] = process.argv.slice(2);
  const basePort = Number(option(args, '--base-port', '30001'));
  if (command === 'start') {
    const state = await startCluster({
      basePort,
      masters: Number(option(args, '--masters', '3')),
      replicas: Number(option(args, '--replicas', '1')),
      password: option(args, '--password', undefined),
      single: args.includes('--single'),
    });
    console.log(state.seeds);
    console.error(
      `started ${state.ports.length} redis-server process(es) (pids ${Object.values(state.pids).join(' ')}), data in ${state.dir}`,
    );
  } else if (command === 'stop') {
    await stopCluster({ basePort });
    console.error(`stopped the redis-server processes recorded for base port ${basePort}`);
  } else if (command === 'status') {
    const state = readState(basePort);
    console.log(
      state
        ? JSON.stringify({ ...state, alive: Object.fromEntries(Object.entries(state.pids).map(([p, pid]) => [p, alive(pid)])) }, null, 2)
        : 'not running',
    );
  } else {
    console.error(
      'usage: node scripts/redis-cluster.mjs start|stop|status [--base-port 30001] [--masters 3] [--replicas 1] [--password pw] [--single]',
    );
    process.exit(2);
  }
}
