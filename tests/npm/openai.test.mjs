// Drives a Federation node with the npm `openai` package: model retrieval, chat, streaming, tools (required, named,
// streamed) and structured output. FEDERATION_URL (e.g. http://127.0.0.1:5000) and FEDERATION_API_KEY are given by
// the .NET test that starts the node (tests/Federation.Client.Tests/NpmOpenAiTests.cs). Any failed check exits non-zero.
import assert from 'node:assert/strict';
import OpenAI from 'openai';

const url = process.env.FEDERATION_URL;
assert.ok(url, 'FEDERATION_URL is not set');
const client = new OpenAI({ baseURL: url.replace(/\/$/, '') + '/v1', apiKey: process.env.FEDERATION_API_KEY ?? 'none', maxRetries: 0 });
const model = 'federation/general';
let checks = 0;
const check = async (name, fn) => { await fn(); checks++; console.log(`ok - ${name}`); };

const weather = {
  type: 'object',
  properties: { city: { type: 'string', maxLength: 12 }, unit: { enum: ['c', 'f'] } },
  required: ['city', 'unit'],
  additionalProperties: false,
};
const tools = [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: weather } }];
const validWeather = (args) => {
  const a = JSON.parse(args);
  assert.deepEqual(Object.keys(a).sort(), ['city', 'unit']);
  assert.equal(typeof a.city, 'string');
  assert.ok(a.city.length <= 12);
  assert.ok(['c', 'f'].includes(a.unit));
};

await check('models.retrieve', async () => {
  const m = await client.models.retrieve('federation');
  assert.equal(m.id, 'federation');
});

let whole;
await check('chat', async () => {
  const c = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello, explain recursion' }], max_tokens: 10, temperature: 0 });
  whole = c.choices[0].message.content;
  assert.equal(typeof whole, 'string');
  assert.ok(c.usage.completion_tokens > 0);
  assert.ok(Number.isInteger(c.federation.ledger.index), 'federation.ledger.index');
});

await check('chat streaming equals the whole answer', async () => {
  const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello, explain recursion' }], max_tokens: 10, temperature: 0, stream: true });
  let text = '';
  for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  assert.equal(text, whole);
});

await check('tools: required call is valid', async () => {
  const c = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'weather in Oslo?' }], max_tokens: 80, temperature: 1, seed: 3, tools, tool_choice: 'required' });
  assert.equal(c.choices[0].finish_reason, 'tool_calls');
  const call = c.choices[0].message.tool_calls[0];
  assert.equal(call.type, 'function');
  assert.equal(call.function.name, 'get_weather');
  assert.match(call.id, /^call_/);
  validWeather(call.function.arguments);
});

await check('tools: named call streamed as deltas and a tool result answered', async () => {
  const stream = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'weather?' }], max_tokens: 80, temperature: 0, stream: true, tools,
    tool_choice: { type: 'function', function: { name: 'get_weather' } },
  });
  let id, name, args = '', finish;
  for await (const chunk of stream) {
    const choice = chunk.choices[0];
    if (!choice) continue;
    for (const t of choice.delta?.tool_calls ?? []) {
      assert.equal(t.index, 0);
      id ??= t.id;
      name ??= t.function?.name;
      args += t.function?.arguments ?? '';
    }
    finish ??= choice.finish_reason;
  }
  assert.equal(finish, 'tool_calls');
  assert.equal(name, 'get_weather');
  validWeather(args);
  const answer = await client.chat.completions.create({
    model, max_tokens: 8, temperature: 0, tools, tool_choice: 'none',
    messages: [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name, arguments: args } }] },
      { role: 'tool', tool_call_id: id, content: 'sunny' },
    ],
  });
  assert.equal(typeof answer.choices[0].message.content, 'string');
  assert.notEqual(answer.choices[0].finish_reason, 'tool_calls');
});

await check('structured output: json_schema', async () => {
  const schema = {
    type: 'object', additionalProperties: false, required: ['name', 'age', 'tags'],
    properties: { name: { type: 'string', minLength: 1, maxLength: 10 }, age: { type: 'integer', minimum: 0, maximum: 120 }, tags: { type: 'array', items: { type: 'string', maxLength: 5 }, maxItems: 3 } },
  };
  const c = await client.chat.completions.create({
    model, messages: [{ role: 'user', content: 'describe a person' }], max_tokens: 120, temperature: 1, seed: 9,
    response_format: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } },
  });
  const v = JSON.parse(c.choices[0].message.content);
  assert.deepEqual(Object.keys(v).sort(), ['age', 'name', 'tags']);
  assert.ok(typeof v.name === 'string' && v.name.length >= 1 && v.name.length <= 10);
  assert.ok(Number.isInteger(v.age) && v.age >= 0 && v.age <= 120);
  assert.ok(Array.isArray(v.tags) && v.tags.length <= 3 && v.tags.every((t) => typeof t === 'string' && t.length <= 5));
});

await check('structured output: json_object', async () => {
  const c = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hello' }], max_tokens: 60, response_format: { type: 'json_object' } });
  const v = JSON.parse(c.choices[0].message.content);
  assert.equal(typeof v, 'object');
  assert.ok(v !== null && !Array.isArray(v));
});

await check('an unsupported schema keyword is a 400 naming it', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20,
      response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'string', format: 'email' } } },
    }),
    (e) => e.status === 400 && e.param === 'response_format.json_schema.schema.format',
  );
});

console.log(`npm openai ${OpenAI.VERSION ?? ''}: ${checks} checks passed`);
