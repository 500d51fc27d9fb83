// The ExpertMesh HTTP API through the real openai npm client.
// Usage: node openai-client.mjs BASE_URL '{"model": ..., "prompt": ..., "messages": [...], "max_tokens": N}'
// Runs greedy completions and chats, whole and streamed, lists the models and makes one bad request;
// prints what it saw as JSON, and exits non-zero when the client's view is not consistent.
import OpenAI, { BadRequestError } from 'openai';

const [baseURL, spec] = process.argv.slice(2);
const { model, prompt, messages, max_tokens } = JSON.parse(spec);
const client = new OpenAI({ baseURL, apiKey: 'unused', maxRetries: 0, timeout: 120_000 });
const greedy = { model, max_tokens, temperature: 0 };
const problems = [];

function expectEqual(what, actual, expected) {
  if (actual !== expected) {
    problems.push(`${what}: ${JSON.stringify(actual)} != ${JSON.stringify(expected)}`);
  }
}

const models = (await client.models.list()).data.map((m) => m.id);
expectEqual('models', models.includes(model), true);

const completion = await client.completions.create({ ...greedy, prompt });
let streamedCompletion = '';
let completionFinish = null;
for await (const chunk of await client.completions.create({ ...greedy, prompt, stream: true })) {
  streamedCompletion += chunk.choices[0]?.text ?? '';
  completionFinish = chunk.choices[0]?.finish_reason ?? completionFinish;
}
expectEqual('streamed completion', streamedCompletion, completion.choices[0].text);
expectEqual('streamed completion finish_reason', completionFinish, completion.choices[0].finish_reason);

const chat = await client.chat.completions.create({ ...greedy, messages });
let streamedChat = '';
let role = null;
let usage = null;
for await (const chunk of await client.chat.completions.create({ ...greedy, messages, stream: true, stream_options: { include_usage: true } })) {
  role = chunk.choices[0]?.delta?.role ?? role;
  streamedChat += chunk.choices[0]?.delta?.content ?? '';
  usage = chunk.usage ?? usage;
}
expectEqual('streamed chat', streamedChat, chat.choices[0].message.content);
expectEqual('streamed chat role', role, 'assistant');
expectEqual('streamed chat usage', usage?.completion_tokens, chat.usage.completion_tokens);

let badRequest = null;
try {
  await client.completions.create({ ...greedy, prompt, n: 2 });
  problems.push('n=2 was accepted');
} catch (e) {
  if (!(e instanceof BadRequestError)) {
    throw e;
  }
  badRequest = { status: e.status, param: e.param, type: e.type, message: e.message };
}

console.log(JSON.stringify({
  models,
  completion: { text: completion.choices[0].text, finish_reason: completion.choices[0].finish_reason, usage: completion.usage },
  streamedCompletion,
  chat: { content: chat.choices[0].message.content, finish_reason: chat.choices[0].finish_reason, usage: chat.usage },
  streamedChat,
  badRequest,
  problems,
}));
process.exit(problems.length === 0 ? 0 : 1);
