#!/usr/bin/env node
// Serving benchmark: C concurrent clients, each sending R streamed chat
// requests (~P-token prompts, N new tokens) to an OpenAI-compatible server
// (quarry serve, llama-server, vLLM ...). Reports aggregate output tokens/s
// and time-to-first-token p50/p99 per concurrency level.
// usage: node bench/serve_bench.mjs --base http://127.0.0.1:8080 --model M
//          [--clients 1,4,8,16] [--requests-per-client 2] [--prompt-words 150]
//          [--max-tokens 64] [--api completions|chat] [--label quarry] [--json]
// The default API is /v1/completions: every generated token is visible text,
// so time-to-first-token is measured the same way on every server (a chat
// answer from random weights may never leave the reasoning header).
import { parseArgs } from 'node:util';

const { values: a } = parseArgs({
  options: {
    base: { type: 'string' }, model: { type: 'string', default: 'gpt-oss-20b' },
    clients: { type: 'string', default: '1,4,8,16' }, 'requests-per-client': { type: 'string', default: '2' },
    'prompt-words': { type: 'string', default: '150' }, 'max-tokens': { type: 'string', default: '64' },
    label: { type: 'string', default: '' }, json: { type: 'boolean', default: false },
    api: { type: 'string', default: 'completions' },
  },
});
if (!a.base) { console.error('usage: node bench/serve_bench.mjs --base URL --model M [--clients 1,4,8,16]'); process.exit(2); }

// Every prompt shares an instruction block (as real apps share a system
// prompt) and ends with a distinct question.
const words = 'alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec romeo sierra tango uniform victor whiskey xray yankee zulu'.split(' ');
const shared = Array.from({ length: Number(a['prompt-words']) }, (_, i) => words[(i * 7) % words.length]).join(' ');

async function one(id) {
  const t0 = performance.now();
  const common = { model: a.model, stream: true, max_tokens: Number(a['max-tokens']), temperature: 1, seed: id,
    ignore_eos: true, stream_options: { include_usage: true } };
  const body = a.api === 'chat'
    ? { ...common, messages: [{ role: 'system', content: `Use this vocabulary: ${shared}.` }, { role: 'user', content: `Request ${id}: write a long story.` }] }
    : { ...common, prompt: `Use this vocabulary: ${shared}. Request ${id}: write a long story.` };
  const res = await fetch(`${a.base}/v1/${a.api === 'chat' ? 'chat/completions' : 'completions'}`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  const reader = res.body.getReader(); const dec = new TextDecoder();
  let ttft = null; let buf = ''; let usage = null;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (ttft === null) {
      buf += dec.decode(value, { stream: true });
      // The first chunk that carries generated text or reasoning.
      if (/"(text|content|reasoning_content|reasoning)":"[^"]/.test(buf)) ttft = performance.now() - t0;
    } else buf += dec.decode(value, { stream: true });
  }
  for (const line of buf.split('\n')) {
    if (line.startsWith('data: {') && line.includes('"usage":{')) usage = JSON.parse(line.slice(6)).usage;
  }
  return { ttft: ttft ?? performance.now() - t0, tokens: usage?.completion_tokens ?? 0, prompt: usage?.prompt_tokens ?? 0 };
}

const pct = (xs, p) => { const s = [...xs].sort((x, y) => x - y); return s[Math.min(s.length - 1, Math.floor(p * (s.length - 1) + 0.5))]; };
const rows = [];
let next = 0;
for (const c of a.clients.split(',').map(Number)) {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: c }, async () => {
    const out = [];
    for (let r = 0; r < Number(a['requests-per-client']); r++) out.push(await one(next++));
    return out;
  }));
  const wall = (performance.now() - t0) / 1000;
  const all = results.flat();
  const tokens = all.reduce((s, r) => s + r.tokens, 0);
  const row = { label: a.label, clients: c, requests: all.length, prompt_tokens_mean: all.reduce((s, r) => s + r.prompt, 0) / all.length,
    output_tokens: tokens, wall_s: wall, output_tps: tokens / wall,
    ttft_p50_s: pct(all.map((r) => r.ttft), 0.5) / 1000, ttft_p99_s: pct(all.map((r) => r.ttft), 0.99) / 1000 };
  rows.push(row);
  if (!a.json) console.log(`${a.label} clients=${c} requests=${row.requests} prompt~${row.prompt_tokens_mean.toFixed(0)} out_tok/s=${row.output_tps.toFixed(2)} ttft_p50=${row.ttft_p50_s.toFixed(2)}s ttft_p99=${row.ttft_p99_s.toFixed(2)}s wall=${wall.toFixed(1)}s`);
}
if (a.json) console.log(JSON.stringify(rows));
