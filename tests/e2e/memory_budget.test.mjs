// The memory budget across SageMaker endpoints, with the real AWS SDK v3
// client against a real `quarry serve`: bad --memory-budget values, a budget
// too small for the served model, then a budget with room for the served
// model and one more: a second model loaded by path goes Failed with the
// reason, and UpdateEndpoint / DeleteEndpoint give memory back (/metrics);
// --mlock keeps the served weights locked (VmLck).
// Run: QUARRY_BIN=build/bin/quarry node --test tests/e2e/memory_budget.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { metric, requireTool, startServer, synthModel, tempDir } from './server_harness.mjs';

const sm = requireTool('@aws-sdk/client-sagemaker');

const quarry = process.env.QUARRY_BIN;
const creds = { accessKeyId: 'AKIAQUARRYEXAMPLE002', secretAccessKey: 'quarryTestSecretKey/9876543210+abcdefghi' };
const env = { QUARRY_ACCESS_KEY_ID: creds.accessKeyId, QUARRY_SECRET_ACCESS_KEY: creds.secretAccessKey };
const kvCacheMb = 16;
let server; let modelDir; let need;

// What one load of the test model reserves: its safetensors files and a KV
// cache of exactly --kv-cache-mb (the test model's blocks divide it).
function modelNeed(dir) {
  const weights = readdirSync(dir).filter((f) => f.endsWith('.safetensors'))
    .reduce((sum, f) => sum + statSync(path.join(dir, f)).size, 0);
  return weights + kvCacheMb * 1024 * 1024;
}

function serveFails(args, extraEnv = {}) {
  const r = spawnSync(quarry, ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', tempDir('quarry-data-'),
    '--model', modelDir, '--threads', '1', '--kv-cache-mb', String(kvCacheMb), ...args],
  { encoding: 'utf8', timeout: 30000, env: { ...process.env, ...extraEnv } });
  assert.notEqual(r.status, 0, `quarry serve should have refused to start:\n${r.stderr}`);
  return r.stderr;
}

before(async () => {
  modelDir = path.join(tempDir('quarry-mem-'), 'model');
  synthModel(quarry, modelDir);
  need = modelNeed(modelDir);
});

after(async () => {
  if (server) assert.equal(await server.stop(), 0, server.stderr());
});

test('--memory-budget and QUARRY_MEMORY_BUDGET: garbage and a budget too small are refused', () => {
  assert.match(serveFails(['--memory-budget', 'lots']), /--memory-budget: "lots" is not a size/);
  assert.match(serveFails(['--memory-budget', '0']), /more than 0/);
  assert.match(serveFails([], { QUARRY_MEMORY_BUDGET: '8X' }), /QUARRY_MEMORY_BUDGET: "8X" is not a size/);
  assert.match(serveFails(['--memory-budget', '1M']),
    /not enough memory: the model and its KV cache need \d+ MiB, 1 MiB of the 1 MiB budget are left/);
});

// The soft locked-memory limit of this process (inherited by the server), in
// bytes; Infinity when unlimited.
function memlockLimit() {
  const m = readFileSync('/proc/self/limits', 'utf8').match(/^Max locked memory\s+(\S+)/m);
  return !m || m[1] === 'unlimited' ? Infinity : Number(m[1]);
}

test('--mlock keeps the served weights locked in RAM, or names the limit that stops it', async () => {
  const weights = need - kvCacheMb * 1024 * 1024;
  // Root holds CAP_IPC_LOCK and may lock beyond the limit.
  if (process.getuid() !== 0 && memlockLimit() < weights) {
    assert.match(serveFails(['--mlock']), /--mlock: .*mlock\(\d+ bytes\).*the locked-memory limit is \d+ KiB/);
    return;
  }
  const locked = await startServer(quarry, ['--model', modelDir, '--threads', '1', '--kv-cache-mb', String(kvCacheMb), '--mlock']);
  try {
    const status = readFileSync(`/proc/${locked.proc.pid}/status`, 'utf8');
    const vmLck = Number(status.match(/VmLck:\s+(\d+)/)[1]) * 1024;
    // The tensors, i.e. the files less their JSON headers.
    assert.ok(vmLck >= 0.99 * weights, `VmLck ${vmLck} is short of the model's ${weights} bytes of files`);
  } finally {
    assert.equal(await locked.stop(), 0, locked.stderr());
  }
});

const waitOpts = (client) => ({ client, maxWaitTime: 30, minDelay: 1, maxDelay: 1 });

async function createConfig(client, name, env) {
  await client.send(new sm.CreateModelCommand({ ModelName: `${name}-model`, PrimaryContainer: { Image: 'quarry', Environment: env } }));
  await client.send(new sm.CreateEndpointConfigCommand({ EndpointConfigName: `${name}-config`,
    ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: `${name}-model`, InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }] }));
}

async function deploy(client, name, env) {
  await createConfig(client, name, env);
  await client.send(new sm.CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }));
}

// Reserved bytes once they settle on `want` (a dropped model is freed when
// its last request ends; here there are none, so this is quick).
async function reservedBecomes(want) {
  let got;
  for (let i = 0; i < 50; i++) {
    got = await metric(server.base, 'quarry_memory_reserved_bytes');
    if (got === want) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(got, want, 'quarry_memory_reserved_bytes');
}

test('endpoints share the budget: over-budget loads fail, update and delete give memory back', async () => {
  // Room for the served model and one more copy, not two.
  const budget = Math.floor(need * 2.5);
  server = await startServer(quarry, ['--model', modelDir, '--served-name', 'gpt-oss-20b', '--threads', '1',
    '--kv-cache-mb', String(kvCacheMb), '--memory-budget', String(budget)], env);
  assert.equal(await metric(server.base, 'quarry_memory_budget_bytes'), budget);
  assert.equal(await metric(server.base, 'quarry_memory_reserved_bytes'), need, 'the served model counts');

  const c = new sm.SageMakerClient({ endpoint: server.base, region: 'us-east-1', credentials: creds, maxAttempts: 1 });
  await deploy(c, 'shared', { HF_MODEL_ID: 'gpt-oss-20b' });
  await sm.waitUntilEndpointInService(waitOpts(c), { EndpointName: 'shared' });
  await reservedBecomes(need);  // a served model by name costs nothing more

  await deploy(c, 'first', { HF_MODEL_ID: modelDir });
  await sm.waitUntilEndpointInService(waitOpts(c), { EndpointName: 'first' });
  await reservedBecomes(2 * need);

  await deploy(c, 'second', { HF_MODEL_ID: modelDir });
  await assert.rejects(sm.waitUntilEndpointInService(waitOpts(c), { EndpointName: 'second' }));
  const failed = await c.send(new sm.DescribeEndpointCommand({ EndpointName: 'second' }));
  assert.equal(failed.EndpointStatus, 'Failed');
  assert.match(failed.FailureReason, /^not enough memory: the model and its KV cache need \d+ MiB, \d+ MiB of the \d+ MiB budget are left$/);
  await reservedBecomes(2 * need);  // the refused load holds nothing

  // UpdateEndpoint replacing the path model by the served one gives its memory back.
  await c.send(new sm.UpdateEndpointCommand({ EndpointName: 'first', EndpointConfigName: 'shared-config' }));
  await sm.waitUntilEndpointInService(waitOpts(c), { EndpointName: 'first' });
  await reservedBecomes(need);

  // Now the failed endpoint fits.
  await c.send(new sm.UpdateEndpointCommand({ EndpointName: 'second', EndpointConfigName: 'second-config' }));
  await sm.waitUntilEndpointInService(waitOpts(c), { EndpointName: 'second' });
  await reservedBecomes(2 * need);

  await c.send(new sm.DeleteEndpointCommand({ EndpointName: 'second' }));
  await sm.waitUntilEndpointDeleted({ ...waitOpts(c), maxWaitTime: 10 }, { EndpointName: 'second' });
  await reservedBecomes(need);
});
