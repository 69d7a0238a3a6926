// The real AWS SDK v3 clients against a real `quarry serve` on 127.0.0.1:
// Bedrock Runtime (Converse, ConverseStream, InvokeModel, InvokeModelWith
// ResponseStream) over HTTP/1.1 and over the SDK's default HTTP/2 transport,
// SigV4 failures, SageMaker deploy/invoke/stream/cleanup, the store surviving
// a restart and a kill -9 in the middle of CreateEndpoint.
// Run: QUARRY_BIN=build/bin/quarry node --test tests/e2e/aws_sdk.test.mjs
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { requireTool, startServer, synthModel, tempDir } from './server_harness.mjs';

const br = requireTool('@aws-sdk/client-bedrock-runtime');
const smr = requireTool('@aws-sdk/client-sagemaker-runtime');
const sm = requireTool('@aws-sdk/client-sagemaker');
const { NodeHttpHandler } = requireTool('@smithy/node-http-handler');

const quarry = process.env.QUARRY_BIN;
const creds = { accessKeyId: 'AKIAQUARRYEXAMPLE001', secretAccessKey: 'quarryTestSecretKey/0123456789+abcdefghi' };
const env = { QUARRY_ACCESS_KEY_ID: creds.accessKeyId, QUARRY_SECRET_ACCESS_KEY: creds.secretAccessKey,
  QUARRY_API_KEY: 'quarry-test-api-key-0001' };
let server; let modelDir; let dataDir;

const http1 = () => ({ requestHandler: new NodeHttpHandler({ requestTimeout: 60000 }) });
const aws = (extra = {}) => ({ endpoint: server.base, region: 'us-east-1', credentials: creds, maxAttempts: 1, ...extra });
const user = (text) => [{ role: 'user', content: [{ text }] }];

async function start() {
  server = await startServer(quarry, ['--model', modelDir, '--served-name', 'gpt-oss-20b', '--threads', '1',
    '--kv-cache-mb', '64', '--data-dir', dataDir], env);
}

before(async () => {
  const tmp = tempDir('quarry-aws-');
  modelDir = path.join(tmp, 'model');
  dataDir = path.join(tmp, 'data');
  synthModel(quarry, modelDir);
  await start();
});

after(async () => {
  if (server) assert.equal(await server.stop(), 0, server.stderr());
});

for (const transport of ['http1', 'http2']) {
  test(`bedrock over ${transport}: converse, stream, invoke, invoke stream`, async () => {
    const c = new br.BedrockRuntimeClient(aws(transport === 'http1' ? http1() : {}));
    const r = await c.send(new br.ConverseCommand({ modelId: 'openai.gpt-oss-20b-1:0', messages: user('Hi'),
      system: [{ text: 'Be brief.' }], inferenceConfig: { maxTokens: 12, temperature: 0 } }));
    assert.equal(r.output.message.role, 'assistant');
    assert.ok(['end_turn', 'max_tokens', 'stop_sequence'].includes(r.stopReason));
    assert.equal(r.usage.totalTokens, r.usage.inputTokens + r.usage.outputTokens);
    assert.ok(r.usage.outputTokens <= 12);
    assert.ok(Number.isInteger(r.metrics.latencyMs));

    const s = await c.send(new br.ConverseStreamCommand({ modelId: 'arn:aws:bedrock:us-west-2::foundation-model/openai.gpt-oss-20b-1:0',
      messages: user('Hi'), system: [{ text: 'Be brief.' }], inferenceConfig: { maxTokens: 12, temperature: 0 } }));
    const kinds = []; let text = ''; let stop = null;
    for await (const ev of s.stream) {
      const k = Object.keys(ev).find((key) => ev[key] !== undefined);
      kinds.push(k);
      if (k === 'contentBlockDelta') text += ev.contentBlockDelta.delta.text ?? '';
      if (k === 'messageStop') stop = ev.messageStop.stopReason;
    }
    assert.equal(kinds[0], 'messageStart');
    assert.equal(kinds[kinds.length - 1], 'metadata');
    assert.equal(stop, r.stopReason);
    const whole = r.output.message.content.filter((b) => b.text !== undefined).map((b) => b.text).join('');
    assert.equal(text, whole, 'greedy stream equals Converse');

    const inv = await c.send(new br.InvokeModelCommand({ modelId: 'openai.gpt-oss-20b-1:0', contentType: 'application/json',
      accept: 'application/json', body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_completion_tokens: 8 }) }));
    const body = JSON.parse(new TextDecoder().decode(inv.body));
    assert.equal(body.object, 'chat.completion');
    assert.equal(typeof body.choices[0].message.content, 'string');

    const invs = await c.send(new br.InvokeModelWithResponseStreamCommand({ modelId: 'openai.gpt-oss-20b-1:0',
      contentType: 'application/json', body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_completion_tokens: 8 }) }));
    let chunks = 0; let last = null;
    for await (const ev of invs.body) {
      last = JSON.parse(new TextDecoder().decode(ev.chunk.bytes));
      assert.equal(last.object, 'chat.completion.chunk');
      chunks++;
    }
    assert.ok(chunks >= 2);
    assert.ok(last.choices[0].finish_reason);
    assert.ok(last['amazon-bedrock-invocationMetrics'].outputTokenCount <= 8);
  });
}

test('bedrock: toolChoice any forces a toolUse; ConverseStream streams it (and reasoning) as deltas', async () => {
  const c = new br.BedrockRuntimeClient(aws(http1()));
  const toolConfig = { toolChoice: { any: {} }, tools: [{ toolSpec: { name: 'get_weather', description: 'Weather',
    inputSchema: { json: { type: 'object', additionalProperties: false, required: ['city'],
      properties: { city: { type: 'string' }, unit: { type: 'string', enum: ['c', 'f'] } } } } } }] };
  let sawReasoning = false;
  for (const city of ['Paris', 'Oslo', 'Rome', 'Lima', 'Kyiv', 'Cairo']) {
    const req = { modelId: 'openai.gpt-oss-20b-1:0', messages: user(`Weather in ${city}?`), toolConfig,
      inferenceConfig: { maxTokens: 48, temperature: 0 } };
    const r = await c.send(new br.ConverseCommand(req));
    assert.equal(r.stopReason, 'tool_use', JSON.stringify(r.output));
    const use = r.output.message.content.find((b) => b.toolUse)?.toolUse;
    assert.ok(use && use.name === 'get_weather' && use.toolUseId, JSON.stringify(r.output));
    assert.equal(typeof use.input.city, 'string');
    assert.ok(use.input.unit === undefined || ['c', 'f'].includes(use.input.unit));

    const s = await c.send(new br.ConverseStreamCommand(req));
    const kinds = []; let input = ''; let reasoning = ''; let start = null; let stop = null;
    for await (const ev of s.stream) {
      const k = Object.keys(ev).find((key) => ev[key] !== undefined);
      kinds.push(k);
      if (k === 'contentBlockStart') start = ev.contentBlockStart.start.toolUse;
      if (k === 'contentBlockDelta') {
        const d = ev.contentBlockDelta.delta;
        if (d.toolUse) input += d.toolUse.input;
        if (d.reasoningContent) reasoning += d.reasoningContent.text ?? '';
      }
      if (k === 'messageStop') stop = ev.messageStop.stopReason;
    }
    assert.equal(stop, 'tool_use');
    assert.equal(start.name, 'get_weather');
    assert.ok(start.toolUseId);
    assert.deepEqual(JSON.parse(input), use.input, 'greedy stream equals Converse');
    const thought = r.output.message.content.find((b) => b.reasoningContent)?.reasoningContent;
    if (thought) {
      sawReasoning = true;
      assert.equal(reasoning, thought.reasoningText.text);
      assert.ok(kinds.indexOf('contentBlockDelta') < kinds.indexOf('contentBlockStart'),
        'the reasoning block comes before the toolUse block');
    }
  }
  assert.ok(sawReasoning, 'some turn reasoned before its call');
});

test('bedrock errors: signature, unknown key, unknown model, validation, bearer', async () => {
  const bad = new br.BedrockRuntimeClient(aws({ ...http1(), credentials: { ...creds, secretAccessKey: 'wrong' } }));
  await assert.rejects(bad.send(new br.ConverseCommand({ modelId: 'gpt-oss-20b', messages: user('x') })),
    (e) => e.name === 'InvalidSignatureException' && e.$metadata.httpStatusCode === 403);
  const unknown = new br.BedrockRuntimeClient(aws({ ...http1(), credentials: { ...creds, accessKeyId: 'AKIAUNKNOWNKEY000000' } }));
  await assert.rejects(unknown.send(new br.ConverseCommand({ modelId: 'gpt-oss-20b', messages: user('x') })),
    (e) => e.name === 'UnrecognizedClientException');
  const skewed = new br.BedrockRuntimeClient(aws({ ...http1(), systemClockOffset: 10 * 60 * 1000 }));
  await assert.rejects(skewed.send(new br.ConverseCommand({ modelId: 'gpt-oss-20b', messages: user('x') })),
    (e) => e.name === 'InvalidSignatureException' && /Signature not yet current/.test(e.message));
  const c = new br.BedrockRuntimeClient(aws(http1()));
  await assert.rejects(c.send(new br.ConverseCommand({ modelId: 'openai.gpt-oss-120b-1:0', messages: user('x') })),
    (e) => e.name === 'ResourceNotFoundException' && e.$metadata.httpStatusCode === 404);
  await assert.rejects(c.send(new br.ConverseCommand({ modelId: 'gpt-oss-20b', messages: [{ role: 'assistant', content: [{ text: 'x' }] }] })),
    (e) => e.name === 'ValidationException' && /start with a user message/.test(e.message));
  await assert.rejects(c.send(new br.ConverseCommand({ modelId: 'gpt-oss-20b',
    messages: [{ role: 'user', content: [{ image: { format: 'png', source: { bytes: new Uint8Array([1]) } } }] }] })),
  (e) => e.name === 'ValidationException' && /image/.test(e.message));
  const res = await fetch(`${server.base}/model/gpt-oss-20b/converse`, { method: 'POST',
    headers: { authorization: 'Bearer quarry-test-api-key-0001', 'content-type': 'application/json' },
    body: JSON.stringify({ messages: user('Hi'), inferenceConfig: { maxTokens: 4 } }) });
  assert.equal(res.status, 200);
  assert.ok(res.headers.get('x-amzn-requestid'));
  const denied = await fetch(`${server.base}/model/gpt-oss-20b/converse`, { method: 'POST',
    headers: { authorization: 'Bearer nope', 'content-type': 'application/json' }, body: '{}' });
  assert.equal(denied.status, 403);
  assert.equal(denied.headers.get('x-amzn-errortype'), 'AccessDeniedException');
});

async function deploy(client, name, env) {
  await client.send(new sm.CreateModelCommand({ ModelName: `${name}-model`, PrimaryContainer: { Image: 'quarry', Environment: env } }));
  await client.send(new sm.CreateEndpointConfigCommand({ EndpointConfigName: `${name}-config`,
    ProductionVariants: [{ VariantName: 'AllTraffic', ModelName: `${name}-model`, InitialInstanceCount: 1, InstanceType: 'ml.m5.large' }] }));
  await client.send(new sm.CreateEndpointCommand({ EndpointName: name, EndpointConfigName: `${name}-config` }));
}

test('sagemaker: deploy by served name and by path, invoke, stream, failures, cleanup', async () => {
  const c = new sm.SageMakerClient(aws());
  const rt = new smr.SageMakerRuntimeClient(aws());
  await deploy(c, 'by-name', { HF_MODEL_ID: 'openai/gpt-oss-20b' });
  await sm.waitUntilEndpointInService({ client: c, maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, { EndpointName: 'by-name' });
  await deploy(c, 'by-path', { HF_MODEL_ID: modelDir });
  await sm.waitUntilEndpointInService({ client: c, maxWaitTime: 60, minDelay: 1, maxDelay: 1 }, { EndpointName: 'by-path' });
  const d = await c.send(new sm.DescribeEndpointCommand({ EndpointName: 'by-path' }));
  assert.equal(d.EndpointStatus, 'InService');
  assert.match(d.EndpointArn, /^arn:aws:sagemaker:us-east-1:000000000000:endpoint\/by-path$/);

  for (const ep of ['by-name', 'by-path']) {
    const r = await rt.send(new smr.InvokeEndpointCommand({ EndpointName: ep, ContentType: 'application/json',
      Body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 6 }) }));
    assert.equal(JSON.parse(new TextDecoder().decode(r.Body)).object, 'chat.completion');
  }
  const tgi = await rt.send(new smr.InvokeEndpointCommand({ EndpointName: 'by-name', ContentType: 'application/json',
    Body: JSON.stringify({ inputs: 'The capital of France is', parameters: { max_new_tokens: 5 } }) }));
  assert.equal(typeof JSON.parse(new TextDecoder().decode(tgi.Body))[0].generated_text, 'string');
  const s = await rt.send(new smr.InvokeEndpointWithResponseStreamCommand({ EndpointName: 'by-name', ContentType: 'application/json',
    Body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 6 }) }));
  let sse = '';
  for await (const ev of s.Body) sse += new TextDecoder().decode(ev.PayloadPart.Bytes);
  assert.ok(sse.endsWith('data: [DONE]\n\n'));

  await deploy(c, 'broken', { HF_MODEL_ID: '/nonexistent/model' });
  await assert.rejects(sm.waitUntilEndpointInService({ client: c, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { EndpointName: 'broken' }));
  const broken = await c.send(new sm.DescribeEndpointCommand({ EndpointName: 'broken' }));
  assert.equal(broken.EndpointStatus, 'Failed');
  assert.match(broken.FailureReason, /nonexistent/);
  await assert.rejects(rt.send(new smr.InvokeEndpointCommand({ EndpointName: 'broken', ContentType: 'application/json', Body: '{}' })),
    (e) => e.name === 'ValidationError');

  // An update to a config that cannot load rolls back (blue/green): still
  // InService on the old config, the failure as FailureReason, still serving.
  await c.send(new sm.UpdateEndpointCommand({ EndpointName: 'by-path', EndpointConfigName: 'broken-config' }));
  let rolled;
  for (let i = 0; i < 300; i++) {
    rolled = await c.send(new sm.DescribeEndpointCommand({ EndpointName: 'by-path' }));
    if (rolled.EndpointStatus !== 'Updating') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(rolled.EndpointStatus, 'InService');
  assert.equal(rolled.EndpointConfigName, 'by-path-config');
  assert.match(rolled.FailureReason, /^Updating to endpoint configuration "broken-config" failed: .*nonexistent.* The endpoint was rolled back to "by-path-config"\.$/);
  const still = await rt.send(new smr.InvokeEndpointCommand({ EndpointName: 'by-path', ContentType: 'application/json',
    Body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }) }));
  assert.equal(JSON.parse(new TextDecoder().decode(still.Body)).object, 'chat.completion');
  await assert.rejects(c.send(new sm.DescribeEndpointCommand({ EndpointName: 'missing' })),
    (e) => e.name === 'ValidationException' && /Could not find endpoint/.test(e.message));
  await assert.rejects(c.send(new sm.CreateModelCommand({ ModelName: 'bad_name!', PrimaryContainer: {} })),
    (e) => e.name === 'ValidationException' && /regular expression/.test(e.message));
  const list = await c.send(new sm.ListEndpointsCommand({ SortBy: 'Name', SortOrder: 'Ascending' }));
  assert.deepEqual(list.Endpoints.map((e) => e.EndpointName), ['broken', 'by-name', 'by-path']);

  for (const ep of ['broken', 'by-path']) {
    await c.send(new sm.DeleteEndpointCommand({ EndpointName: ep }));
    await c.send(new sm.DeleteEndpointConfigCommand({ EndpointConfigName: `${ep}-config` }));
    await c.send(new sm.DeleteModelCommand({ ModelName: `${ep}-model` }));
  }
  await sm.waitUntilEndpointDeleted({ client: c, maxWaitTime: 10, minDelay: 1, maxDelay: 1 }, { EndpointName: 'by-path' });
});

test('store: endpoints survive a restart and a kill -9 during CreateEndpoint', async () => {
  assert.equal(await server.stop(), 0, server.stderr());
  await start();
  let c = new sm.SageMakerClient(aws());
  await sm.waitUntilEndpointInService({ client: c, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { EndpointName: 'by-name' });

  await deploy(c, 'crash', { HF_MODEL_ID: modelDir });
  server.proc.kill('SIGKILL');
  await new Promise((r) => server.proc.on('exit', r));
  await start();
  c = new sm.SageMakerClient(aws());
  await sm.waitUntilEndpointInService({ client: c, maxWaitTime: 30, minDelay: 1, maxDelay: 1 }, { EndpointName: 'crash' });
  const rt = new smr.SageMakerRuntimeClient(aws());
  const r = await rt.send(new smr.InvokeEndpointCommand({ EndpointName: 'crash', ContentType: 'application/json',
    Body: JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }], max_tokens: 4 }) }));
  assert.equal(r.$metadata.httpStatusCode, 200);
});
