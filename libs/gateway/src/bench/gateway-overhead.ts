import { GenerateClient } from '@ivl/queue';

export interface OverheadOptions {
  /** REST base URL of a gateway in front of the queue below, e.g. http://127.0.0.1:8000. */
  url: string;
  redisUrl: string;
  queuePrefix?: string;
  model: string;
  apiKey?: string;
  concurrency: number;
  requestsPerClient: number;
  maxTokens: number;
  prompt?: string;
  /** Alternate direct/REST rounds; more rounds average out drift in a shared machine. */
  rounds?: number;
}

export interface PathResult {
  requests: number;
  tokens: number;
  wallMs: number;
  tokensPerSecond: number;
  ttftMsP50: number;
  ttftMsP90: number;
}

export interface OverheadResult {
  concurrency: number;
  direct: PathResult;
  rest: PathResult;
  /** REST tokens/s ÷ direct tokens/s (target ≥ 0.95). */
  throughputRatio: number;
  /** REST p50 TTFT ÷ direct p50 TTFT. */
  ttftRatio: number;
}

type One = { ttftMs: number; tokens: number };

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : 0;
};

async function viaQueue(client: GenerateClient, o: OverheadOptions, seed: number): Promise<One> {
  const t0 = performance.now();
  const jobId = await client.submit({
    model: o.model,
    input: { question: o.prompt ?? 'Write a long story about a lighthouse keeper.' },
    sampling: { maxNewTokens: o.maxTokens, temperature: 0, seed },
  });
  let ttftMs = 0;
  let tokens = 0;
  for await (const e of client.stream(jobId)) {
    if (e.kind !== 'tokens') break;
    if (!tokens && e.tokens.length) ttftMs = performance.now() - t0;
    tokens += e.tokens.length;
  }
  return { ttftMs, tokens };
}

async function viaRest(o: OverheadOptions, seed: number): Promise<One> {
  const t0 = performance.now();
  const res = await fetch(`${o.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(o.apiKey ? { authorization: `Bearer ${o.apiKey}` } : {}) },
    body: JSON.stringify({
      model: o.model,
      messages: [{ role: 'user', content: o.prompt ?? 'Write a long story about a lighthouse keeper.' }],
      max_tokens: o.maxTokens,
      temperature: 0,
      seed,
      stream: true,
      stream_options: { include_usage: true },
    }),
  });
  if (!res.ok || !res.body) throw new Error(`REST request failed: HTTP ${res.status} ${await res.text()}`);
  let ttftMs = 0;
  let tokens = 0;
  let buf = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    buf += decoder.decode(chunk, { stream: true });
    let at: number;
    while ((at = buf.indexOf('\n\n')) >= 0) {
      const data = buf.slice(6, at);
      buf = buf.slice(at + 2);
      if (data === '[DONE]') continue;
      const e = JSON.parse(data) as { choices: Array<{ delta?: { content?: string } }>; usage?: { completion_tokens: number } | null };
      if (!ttftMs && e.choices[0]?.delta?.content) ttftMs = performance.now() - t0;
      if (e.usage) tokens = e.usage.completion_tokens;
    }
  }
  return { ttftMs, tokens };
}

async function run(o: OverheadOptions, one: (seed: number) => Promise<One>): Promise<PathResult> {
  const all: One[] = [];
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: o.concurrency }, async (_, c) => {
      for (let i = 0; i < o.requestsPerClient; i++) all.push(await one(c * 1000 + i));
    }),
  );
  const wallMs = performance.now() - t0;
  const tokens = all.reduce((a, r) => a + r.tokens, 0);
  const ttfts = all.map((r) => r.ttftMs);
  return { requests: all.length, tokens, wallMs, tokensPerSecond: (tokens * 1000) / wallMs, ttftMsP50: pct(ttfts, 0.5), ttftMsP90: pct(ttfts, 0.9) };
}

function merge(rs: PathResult[]): PathResult {
  const requests = rs.reduce((a, r) => a + r.requests, 0);
  const tokens = rs.reduce((a, r) => a + r.tokens, 0);
  const wallMs = rs.reduce((a, r) => a + r.wallMs, 0);
  return {
    requests,
    tokens,
    wallMs,
    tokensPerSecond: (tokens * 1000) / wallMs,
    ttftMsP50: rs.reduce((a, r) => a + r.ttftMsP50, 0) / rs.length,
    ttftMsP90: rs.reduce((a, r) => a + r.ttftMsP90, 0) / rs.length,
  };
}

/**
 * The gateway-overhead benchmark: the same greedy jobs, N concurrent clients, once straight through the queue
 * (GenerateClient: submit + token stream) and once through the gateway's streaming REST API. Rounds alternate the two
 * paths so that drift on a shared machine hits both.
 */
export async function benchGatewayOverhead(o: OverheadOptions): Promise<OverheadResult> {
  const client = new GenerateClient(o.redisUrl, { prefix: o.queuePrefix });
  try {
    // Warm-up: first compilations, connections, caches.
    await viaQueue(client, { ...o, maxTokens: 4 }, 1);
    await viaRest({ ...o, maxTokens: 4 }, 1);
    const direct: PathResult[] = [];
    const rest: PathResult[] = [];
    for (let r = 0; r < (o.rounds ?? 2); r++) {
      direct.push(await run(o, (seed) => viaQueue(client, o, seed)));
      rest.push(await run(o, (seed) => viaRest(o, seed)));
    }
    const d = merge(direct);
    const h = merge(rest);
    return { concurrency: o.concurrency, direct: d, rest: h, throughputRatio: h.tokensPerSecond / d.tokensPerSecond, ttftRatio: h.ttftMsP50 / Math.max(1e-9, d.ttftMsP50) };
  } finally {
    await client.close();
  }
}
