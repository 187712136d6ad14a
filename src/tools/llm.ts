import { z } from 'zod';
import { inSpan, traceHeaders } from '../tracing/spans.js';

/** Where the OpenAI-compatible chat-completions API is: hosted (OpenAI, OpenRouter…) or self-hosted (vLLM, llama.cpp, Ollama). */
export interface LlmSettings {
  /** e.g. https://api.openai.com/v1 — `/chat/completions` is appended */
  baseUrl: string;
  model: string;
  apiKey: string | undefined;
}

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** The LLM answered, but not with a usable completion (HTTP error, no choice, empty content). */
export class LlmAnswerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LlmAnswerError';
  }
}

const completionShape = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable() }) })).min(1),
});

export type ChatCompletion = (messages: readonly ChatMessage[], signal: AbortSignal) => Promise<string>;

/** A chat-completions call asking for a JSON object; resolves with the first choice's text. */
export function chatCompletions(settings: LlmSettings): ChatCompletion {
  const url = `${settings.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  // Named as OpenTelemetry's GenAI conventions say; the host names the provider, while the path and
  // any credentials in the URL stay out of the trace.
  const spanName = `chat ${settings.model}`;
  const attributes = { 'gen_ai.operation.name': 'chat', 'gen_ai.request.model': settings.model, 'server.address': new URL(url).hostname };
  return (messages, signal) =>
    inSpan(
      spanName,
      attributes,
      async () => {
        const response = await fetch(url, {
          method: 'POST',
          signal,
          headers: {
            'content-type': 'application/json',
            ...traceHeaders(),
            ...(settings.apiKey ? { authorization: `Bearer ${settings.apiKey}` } : {}),
          },
          body: JSON.stringify({ model: settings.model, messages, response_format: { type: 'json_object' }, temperature: 0.2 }),
        });
        if (!response.ok) throw new LlmAnswerError(`the LLM answered HTTP ${response.status}`);
        const parsed = completionShape.safeParse(await response.json().catch(() => undefined));
        const content = parsed.success ? parsed.data.choices[0]?.message.content : undefined;
        if (!content) throw new LlmAnswerError('the LLM answered without a completion');
        return content;
      },
      { kind: 'client' },
    );
}
