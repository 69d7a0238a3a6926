// Starts a real `quarry serve` process on 127.0.0.1 (any free port) for the
// end-to-end tests, on a small real-vocabulary model that `quarry synth` makes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
// The SDKs are installed by scripts/setup.sh into tools/node_modules.
export const requireTool = createRequire(path.join(repo, 'tools', 'package.json'));

export function argValue(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

// Synthesizes the test model once per run.
export function synthModel(quarry, dir, extra = []) {
  const r = spawnSync(quarry, ['synth', '--layers', '2', '--hidden', '64', '--experts', '4', '--top-k', '2',
    '--heads', '4', '--kv-heads', '2', '--head-dim', '16', '--window', '8', '--max-position', '4096',
    '--seed', '7', '--threads', '1', '--out', dir, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`quarry synth failed: ${r.stderr}`);
}

// `args` may carry its own --data-dir (to restart on the same store);
// otherwise each server gets a fresh one.
export async function startServer(quarry, args, env = {}) {
  const dataArgs = args.includes('--data-dir') ? [] : ['--data-dir', tempDir('quarry-data-')];
  const proc = spawn(quarry, ['serve', '--host', '127.0.0.1', '--port', '0', ...dataArgs, ...args], {
    env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr.on('data', (d) => { stderr += d; });
  const base = await new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${stderr}`)), 60000);
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}:\n${stderr}`)); });
  });
  const rss = () => {
    const status = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    return Number(status.match(/VmRSS:\s+(\d+)/)[1]) * 1024;
  };
  const stop = async () => {
    if (proc.exitCode !== null) return proc.exitCode;
    proc.kill('SIGTERM');
    return await new Promise((resolve) => proc.on('exit', (code) => resolve(code)));
  };
  return { base, proc, stop, rss, stderr: () => stderr };
}

export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function metric(base, name) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const m = text.match(new RegExp(`^${name} ([0-9.e+-]+)$`, 'm'));
  return m ? Number(m[1]) : undefined;
}
