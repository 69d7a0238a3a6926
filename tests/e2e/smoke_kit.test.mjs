// The shared smoke kit (tools/clients/run.mjs, the real SDKs) against
// `quarry serve` started as the README's main job starts it: no --model (the
// default demo model, served as gpt-oss-20b), the kit's test credentials in
// the environment. Every check must pass over HTTP/1.1 and over HTTP/2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startServer, tempDir } from './server_harness.mjs';

const quarry = process.env.QUARRY_BIN;
const kit = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'tools', 'clients', 'run.mjs');
const env = { QUARRY_ACCESS_KEY_ID: 'AKIAQUARRYEXAMPLE001', QUARRY_SECRET_ACCESS_KEY: 'quarryTestSecretKey/0123456789+abcdefghi',
  QUARRY_API_KEY: 'quarry-test-api-key-0001' };

test('smoke kit: 7/7 over HTTP/1.1 and HTTP/2 against the default server', async () => {
  const server = await startServer(quarry, ['--threads', '1', '--kv-cache-mb', '64'],
    { ...env, QUARRY_CACHE_DIR: tempDir('quarry-cache-') });
  try {
    for (const extra of [[], ['--http2']]) {
      const r = spawnSync(process.execPath, [kit, '--base', server.base, '--model', 'gpt-oss-20b',
        '--bedrock-model', 'openai.gpt-oss-20b-1:0', '--endpoint-timeout-s', '120', ...extra],
      { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 300000 });
      assert.equal(r.status, 0, `${extra.join(' ')}\n${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, /^7 passed, 0 failed$/m, r.stdout);
    }
  } finally {
    assert.equal(await server.stop(), 0, server.stderr());
  }
});
