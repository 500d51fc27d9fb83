// An API key through the real openai npm client.
// Usage: node openai-auth.mjs BASE_URL MODEL KEY
// A completion with a wrong key must raise AuthenticationError; one with KEY must be served. Prints what it saw as JSON.
import OpenAI, { AuthenticationError } from 'openai';

const [baseURL, model, apiKey] = process.argv.slice(2);
const request = { model, prompt: 'Hello', max_tokens: 4, temperature: 0 };

let refused = null;
try {
  await new OpenAI({ baseURL, apiKey: 'a-wrong-key', maxRetries: 0 }).completions.create(request);
} catch (e) {
  if (!(e instanceof AuthenticationError)) {
    throw e;
  }
  refused = { status: e.status, code: e.code, type: e.type };
}
const served = await new OpenAI({ baseURL, apiKey, maxRetries: 0, timeout: 120_000 }).completions.create(request);

console.log(JSON.stringify({ refused, served: { completion_tokens: served.usage.completion_tokens } }));
