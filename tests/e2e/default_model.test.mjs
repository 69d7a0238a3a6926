// `quarry serve` with no --model: it synthesizes the random-weight demo model
// into the cache directory once, serves it as gpt-oss-20b, and says in
// /v1/models that its answers are noise. A second start reuses the cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startServer, tempDir } from './server_harness.mjs';

const quarry = process.env.QUARRY_BIN;

test('default demo model: synthesized once, labelled as noise', async () => {
  const cache = tempDir('quarry-cache-');
  for (let run = 0; run < 2; run++) {
    const server = await startServer(quarry, ['--threads', '1', '--kv-cache-mb', '32'], { QUARRY_CACHE_DIR: cache });
    try {
      const models = await (await fetch(`${server.base}/v1/models`)).json();
      assert.equal(models.data[0].id, 'gpt-oss-20b');
      assert.match(models.data[0].quarry_notice, /RANDOM weights/);
      assert.match(models.data[0].quarry_notice, /--model/);
      assert.match(server.stderr(), /RANDOM weights/);
      const r = await fetch(`${server.base}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-oss-20b', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 }) });
      assert.equal(r.status, 200);
      const body = await r.json();
      assert.equal(body.usage.completion_tokens <= 4, true);
      assert.equal((await fetch(`${server.base}/health`)).status, 200);
    } finally {
      assert.equal(await server.stop(), 0, server.stderr());
    }
    assert.ok(existsSync(path.join(cache, 'models', 'demo-random-v1', '.complete')));
    if (run === 1) assert.doesNotMatch(server.stderr(), /synthesizing/);
  }
});
