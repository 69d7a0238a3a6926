// The real `openai` SDK (v6) against a real `quarry serve` on 127.0.0.1:
// chat (whole and streamed), reasoning fields, tools round trip, json_schema,
// completions, responses, models, and the error shapes.
// Run: QUARRY_BIN=build/bin/quarry node --test tests/e2e/openai_sdk.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { requireTool, startServer, synthModel, tempDir, metric } from './server_harness.mjs';

const OpenAI = requireTool('openai').default ?? requireTool('openai');
const quarry = process.env.QUARRY_BIN;
const KEY = 'quarry-test-api-key-0001';
let server; let client;

before(async () => {
  assert.ok(quarry, 'set QUARRY_BIN to the quarry binary');
  const dir = path.join(tempDir('quarry-e2e-'), 'model');
  synthModel(quarry, dir);
  server = await startServer(quarry, ['--model', dir, '--served-name', 'gpt-oss-20b',
    '--served-name', 'tiny', '--threads', '1', '--kv-cache-mb', '64', '--max-body-mb', '1'],
  { QUARRY_API_KEY: KEY });
  client = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: KEY, maxRetries: 0, timeout: 60000 });
});

after(async () => {
  if (server) assert.equal(await server.stop(), 0, `server exit\n${server.stderr()}`);
});

const user = (content) => [{ role: 'user', content }];

test('models: list and retrieve by alias', async () => {
  const list = await client.models.list();
  assert.deepEqual(list.data.map((m) => m.id), ['gpt-oss-20b', 'tiny']);
  const m = await client.models.retrieve('openai/gpt-oss-20b');
  assert.equal(m.id, 'gpt-oss-20b');
  await assert.rejects(client.models.retrieve('nope'), (e) => e.status === 404);
});

test('chat: whole response with usage and reasoning fields', async () => {
  const r = await client.chat.completions.create({ model: 'openai.gpt-oss-20b-1:0', messages: user('Say hello.'),
    max_completion_tokens: 24, temperature: 0 });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.model, 'openai.gpt-oss-20b-1:0', 'echoes the model the client sent');
  const c = r.choices[0];
  assert.equal(c.message.role, 'assistant');
  assert.equal(typeof c.message.content, 'string');
  assert.ok(!/<\|(start|channel|message|end|return|call|constrain)\|>/.test(c.message.content));
  assert.ok(['stop', 'length'].includes(c.finish_reason));
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  assert.ok(r.usage.completion_tokens <= 24);
  if (c.finish_reason === 'length') assert.equal(r.usage.completion_tokens, 24);
  assert.ok(r.usage.completion_tokens_details.reasoning_tokens <= r.usage.completion_tokens);
  if (c.message.reasoning !== undefined) assert.equal(c.message.reasoning, c.message.reasoning_content);
});

test('chat: greedy stream equals the whole response; include_usage', async () => {
  const body = { model: 'gpt-oss-20b', messages: user('Count to five.'), max_tokens: 32, temperature: 0 };
  const whole = await client.chat.completions.create(body);
  const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
  let content = ''; let reasoning = ''; let finish = null; let usage = null; let first = true; let finishes = 0;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.choices.length === 0) { usage = chunk.usage; continue; }
    const d = chunk.choices[0].delta;
    if (first) { assert.equal(d.role, 'assistant'); first = false; }
    content += d.content ?? '';
    reasoning += d.reasoning ?? '';
    if (d.reasoning !== undefined) assert.equal(d.reasoning, d.reasoning_content);
    if (chunk.choices[0].finish_reason) { finish = chunk.choices[0].finish_reason; finishes++; }
  }
  assert.equal(finishes, 1);
  assert.equal(content, whole.choices[0].message.content);
  assert.equal(reasoning, whole.choices[0].message.reasoning ?? '');
  assert.equal(finish, whole.choices[0].finish_reason);
  assert.deepEqual(usage, whole.usage);
});

test('chat: seed reproduces, n choices, logprobs', async () => {
  const body = { model: 'tiny', messages: user('Pick a word.'), max_tokens: 12, temperature: 1, seed: 42, n: 2,
    logprobs: true, top_logprobs: 3 };
  const a = await client.chat.completions.create(body);
  const b = await client.chat.completions.create(body);
  assert.equal(a.choices.length, 2);
  assert.deepEqual(a.choices.map((c) => c.message.content), b.choices.map((c) => c.message.content));
  for (const c of a.choices) {
    const entries = c.logprobs.content;
    const bytes = entries.flatMap((e) => e.bytes);
    assert.equal(Buffer.from(bytes).toString('utf8'), c.message.content);
    for (const e of entries) {
      assert.ok(e.logprob <= 0);
      assert.ok(e.top_logprobs.length <= 3);
    }
  }
});

test('chat: tools round trip is accepted and rendered', async () => {
  const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
  const messages = [
    { role: 'user', content: 'Weather in Paris?' },
    { role: 'assistant', content: null, reasoning: 'Need the tool.',
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
    { role: 'tool', tool_call_id: 'call_1', content: '{"temp_c": 21}' },
  ];
  const r = await client.chat.completions.create({ model: 'tiny', messages, tools, max_tokens: 8 });
  assert.ok(['stop', 'length', 'tool_calls'].includes(r.choices[0].finish_reason));
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages, tools, max_tokens: 8,
    tool_choice: { type: 'function', function: { name: 'not_there' } } }), (e) => e.status === 400);
});

const weatherTool = { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', strict: true,
  parameters: { type: 'object', additionalProperties: false, required: ['city', 'unit'], properties: {
    city: { type: 'string' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] }, days: { type: 'integer' } } } } };
const timeTool = { type: 'function', function: { name: 'get_time',
  parameters: { type: 'object', properties: { tz: { type: 'string' } }, required: ['tz'] } } };

function checkArgs(name, text) {
  const args = JSON.parse(text);
  assert.equal(typeof args, 'object');
  if (name === 'get_weather') {
    assert.deepEqual(Object.keys(args).filter((k) => !['city', 'unit', 'days'].includes(k)), []);
    assert.equal(typeof args.city, 'string');
    assert.ok(['celsius', 'fahrenheit'].includes(args.unit), text);
    assert.ok(args.days === undefined || Number.isInteger(args.days), text);
  } else {
    assert.equal(typeof args.tz, 'string', text);
  }
}

test('chat: tool_choice required / named force a schema-valid call (constrained decoding)', async () => {
  const tools = [weatherTool, timeTool];
  const cases = [['required', ['get_weather', 'get_time']],
    [{ type: 'function', function: { name: 'get_weather' } }, ['get_weather']]];
  for (const [toolChoice, names] of cases) {
    for (const seed of [1, 2, 3]) {
      const r = await client.chat.completions.create({ model: 'tiny', messages: user('Weather in Paris?'), tools,
        tool_choice: toolChoice, max_tokens: 48, temperature: 1, seed });
      const c = r.choices[0];
      assert.equal(c.finish_reason, 'tool_calls', JSON.stringify(c));
      assert.equal(c.message.content, null);
      assert.equal(c.message.tool_calls.length, 1);
      const call = c.message.tool_calls[0];
      assert.ok(call.id.startsWith('call_'));
      assert.ok(names.includes(call.function.name), call.function.name);
      checkArgs(call.function.name, call.function.arguments);
      assert.ok(r.usage.completion_tokens <= 48);
    }
  }
  // Streamed: the call arrives as tool_calls deltas.
  const s = await client.chat.completions.create({ model: 'tiny', messages: user('Weather in Oslo?'), tools,
    tool_choice: 'required', max_tokens: 48, temperature: 1, seed: 7, stream: true });
  let name = null; let args = ''; let finish = null;
  for await (const chunk of s) {
    const ch = chunk.choices[0];
    for (const tc of ch?.delta?.tool_calls ?? []) {
      if (tc.function?.name) name = tc.function.name;
      args += tc.function?.arguments ?? '';
    }
    if (ch?.finish_reason) finish = ch.finish_reason;
  }
  assert.equal(finish, 'tool_calls');
  checkArgs(name, args);
  // Strict tool arguments cannot be compiled: a 400 naming the schema.
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: user('x'), max_tokens: 8,
    tools: [{ type: 'function', function: { name: 'f', strict: true, parameters: { type: 'object',
      properties: { a: { type: 'strin' } } } } }] }),
  (e) => e.status === 400 && e.param === 'tools[0].function.parameters.properties.a.type');
});

test('chat: json_schema and json_object outputs are constrained and validate', async () => {
  const schema = { type: 'object', additionalProperties: false, required: ['name', 'tags', 'score'], properties: {
    name: { type: 'string' }, tags: { type: 'array', items: { type: 'string' }, maxItems: 3 }, score: { type: 'number' } } };
  for (const seed of [1, 2]) {
    const r = await client.chat.completions.create({ model: 'tiny', messages: user('Give JSON.'), max_tokens: 64,
      temperature: 1, seed, response_format: { type: 'json_schema', json_schema: { name: 'x', strict: true, schema } } });
    const c = r.choices[0];
    assert.equal(c.finish_reason, 'stop', JSON.stringify(c));
    const v = JSON.parse(c.message.content);
    assert.deepEqual(Object.keys(v), ['name', 'tags', 'score']);
    assert.equal(typeof v.name, 'string');
    assert.ok(Array.isArray(v.tags) && v.tags.length <= 3 && v.tags.every((t) => typeof t === 'string'));
    assert.equal(typeof v.score, 'number');
  }
  const o = await client.chat.completions.create({ model: 'tiny', messages: user('Give JSON.'), max_tokens: 48,
    temperature: 1, seed: 3, response_format: { type: 'json_object' } });
  assert.equal(o.choices[0].finish_reason, 'stop');
  const v = JSON.parse(o.choices[0].message.content);
  assert.ok(v !== null && typeof v === 'object' && !Array.isArray(v));
  // The responses API constrains the same way.
  const rr = await client.responses.create({ model: 'tiny', input: 'Weather in Rome?', max_output_tokens: 48,
    tools: [{ type: 'function', name: 'get_weather', parameters: weatherTool.function.parameters, strict: true }],
    tool_choice: 'required' });
  const fc = rr.output.find((item) => item.type === 'function_call');
  assert.ok(fc, JSON.stringify(rr.output));
  checkArgs('get_weather', fc.arguments);
});

test('completions: text, stream and echo', async () => {
  const r = await client.completions.create({ model: 'tiny', prompt: 'The capital of France is', max_tokens: 5, temperature: 0 });
  assert.equal(r.object, 'text_completion');
  assert.ok(r.usage.completion_tokens <= 5);
  if (r.choices[0].finish_reason === 'length') assert.equal(r.usage.completion_tokens, 5);
  // Raw text: every generated token but a control token is visible, so legacy
  // logprobs cover the text token by token.
  const lp = await client.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 6, temperature: 0, logprobs: 2 });
  const n = lp.choices[0].logprobs.tokens.length;
  assert.ok(n >= 1 && n <= lp.usage.completion_tokens);
  assert.equal(lp.choices[0].logprobs.tokens.join(''), lp.choices[0].text);
  for (const top of lp.choices[0].logprobs.top_logprobs) assert.ok(Object.keys(top).length >= 1 && Object.keys(top).length <= 2);
  const s = await client.completions.create({ model: 'tiny', prompt: 'The capital of France is', max_tokens: 5, temperature: 0, stream: true });
  let text = '';
  for await (const c of s) text += c.choices[0]?.text ?? '';
  assert.equal(text, r.choices[0].text);
});

test('responses: whole and streamed', async () => {
  const r = await client.responses.create({ model: 'tiny', input: 'Hi', instructions: 'Be brief.', max_output_tokens: 16, temperature: 0 });
  assert.equal(r.object, 'response');
  assert.ok(['completed', 'incomplete'].includes(r.status));
  assert.equal(r.usage.total_tokens, r.usage.input_tokens + r.usage.output_tokens);
  assert.ok(r.usage.output_tokens <= 16);
  const s = await client.responses.create({ model: 'tiny', input: 'Hi', instructions: 'Be brief.', max_output_tokens: 16, temperature: 0, stream: true });
  let seq = 0; let last = null; const types = [];
  for await (const ev of s) {
    assert.equal(ev.sequence_number, seq++);
    types.push(ev.type);
    last = ev;
  }
  assert.equal(types[0], 'response.created');
  assert.ok(['response.completed', 'response.incomplete'].includes(last.type));
  assert.equal(last.response.output_text ?? '', r.output_text ?? '');
});

test('errors: OpenAI shapes and status codes', async () => {
  const bad = new OpenAI({ baseURL: `${server.base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(bad.models.list(), (e) => e.status === 401 && e.code === 'invalid_api_key');
  await assert.rejects(client.chat.completions.create({ model: 'missing', messages: user('x') }),
    (e) => e.status === 404 && e.code === 'model_not_found');
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: [{ role: 'wizard', content: 'x' }] }),
    (e) => e.status === 400 && e.param === 'messages[0].role');
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: user('x'), temperature: 5 }),
    (e) => e.status === 400 && e.param === 'temperature');
  await assert.rejects(client.chat.completions.create({ model: 'tiny', messages: user('x'), max_tokens: 100000 }),
    (e) => e.status === 400 && e.code === 'context_length_exceeded');
  const raw = async (body, headers = {}) => fetch(`${server.base}/v1/chat/completions`, {
    method: 'POST', body, headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers } });
  let res = await raw('{"model": "tiny", "messages": [');
  assert.equal(res.status, 400);
  assert.equal((await res.json()).error.code, 'invalid_json');
  res = await raw(JSON.stringify({ model: 'tiny', messages: user('x'.repeat(2 << 20)) }));
  assert.equal(res.status, 413);
  assert.equal((await res.json()).error.type, 'invalid_request_error');
  res = await fetch(`${server.base}/v1/nowhere`, { headers: { authorization: `Bearer ${KEY}` } });
  assert.equal(res.status, 404);
  assert.ok(res.headers.get('date'));
  res = await fetch(`${server.base}/health`);
  assert.equal(res.status, 200);
});

test('metrics: Prometheus text, all KV blocks free when idle', async () => {
  assert.equal(await metric(server.base, 'quarry_kv_blocks_used'), 0);
  assert.ok((await metric(server.base, 'quarry_generation_tokens_total')) > 0);
  const text = await (await fetch(`${server.base}/metrics`)).text();
  assert.match(text, /quarry_time_to_first_token_seconds_bucket\{le="\+Inf"\} \d+/);
  assert.match(text, /quarry_prefix_cache_hit_rate /);
  // Usage is charged to the key (command-line keys are named by their first 8 characters).
  assert.match(text, /quarry_usage_tokens_total\{principal="key:quarry-t",model="gpt-oss-20b",kind="output"\} [1-9]/);
});
