// Load test on loopback: 64 concurrent streaming clients on a tiny model,
// a quarter of them disconnecting mid-stream. Every other stream completes
// without error; afterwards every KV block is free and RSS is back near where
// it started. Run: QUARRY_BIN=build/bin/quarry node --test tests/e2e/load.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startServer, synthModel, tempDir, metric } from './server_harness.mjs';

const quarry = process.env.QUARRY_BIN;
let server;

before(async () => {
  const dir = path.join(tempDir('quarry-load-'), 'model');
  synthModel(quarry, dir);
  server = await startServer(quarry, ['--model', dir, '--served-name', 'tiny', '--threads', '2',
    '--kv-cache-mb', '64', '--max-running', '32', '--max-waiting', '128']);
});

after(async () => {
  if (server) assert.equal(await server.stop(), 0, `server exit\n${server.stderr()}`);
});

async function stream(i, abortAfterChunks) {
  const ctl = new AbortController();
  // Raw completions: with random weights every token is visible text, so each
  // stream is many events (a chat answer from random weights is mostly an
  // unfinished harmony header, i.e. nothing to show).
  const res = await fetch(`${server.base}/v1/completions`, {
    method: 'POST', signal: ctl.signal, headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tiny', stream: true, max_tokens: 40, temperature: 1, seed: i,
      prompt: `You are a load test. Client ${i}: tell me a story.` }),
  });
  assert.equal(res.status, 200);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = ''; let chunks = 0;
  for (;;) {
    let r;
    try { r = await reader.read(); } catch (e) { if (abortAfterChunks) return 'aborted'; throw e; }
    if (r.done) break;
    text += dec.decode(r.value, { stream: true });
    if (abortAfterChunks && ++chunks >= abortAfterChunks) { ctl.abort(); return 'aborted'; }
  }
  assert.ok(text.endsWith('data: [DONE]\n\n'), `stream ${i} ended without [DONE]`);
  assert.ok(!text.includes('"error"'), `stream ${i} carried an error`);
  assert.match(text, /"finish_reason":"(stop|length)"/);
  return 'done';
}

async function waitIdle() {
  for (let i = 0; i < 200; i++) {
    if ((await metric(server.base, 'quarry_requests_running')) === 0 &&
        (await metric(server.base, 'quarry_requests_waiting')) === 0 &&
        (await metric(server.base, 'quarry_kv_blocks_used')) === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail('the engine did not become idle with every KV block free');
}

test('64 concurrent streams, 16 disconnect mid-stream', async () => {
  await stream(1000, 0);  // warm up: first allocations, page faults
  await waitIdle();
  const rssStart = server.rss();
  for (let round = 0; round < 2; round++) {
    const results = await Promise.all(Array.from({ length: 64 }, (_, i) => stream(i, i % 4 === 3 ? 3 : 0)));
    assert.equal(results.filter((r) => r === 'done').length, 48);
    await waitIdle();
  }
  const rssEnd = server.rss();
  assert.ok(rssEnd < rssStart + 64 * 1024 * 1024, `RSS grew from ${rssStart} to ${rssEnd}`);
  const free = await metric(server.base, 'quarry_kv_blocks_free');
  assert.equal(free, await metric(server.base, 'quarry_kv_blocks_total'));
});
