import { beforeAll, describe, expect, it } from 'vitest';
import { loadTokenizer, type IvlTokenizer } from '@ivl/prompt';
import { tinyCheckpoint } from '@ivl/test-support';
import { GrammarEngine } from './grammar-engine';
import { GrammarError, type GrammarSpec } from './grammar-spec';
import { grammarVocabulary } from './grammar-vocabulary';

const EOS = [151643, 151644, 151645];
const V = 151674;
let tok: IvlTokenizer;
let engine: GrammarEngine;

beforeAll(async () => {
  tok = await loadTokenizer(tinyCheckpoint());
  engine = await GrammarEngine.create({ vocab: grammarVocabulary(tok, V), stopTokenIds: EOS });
});

const schema = (o: object): GrammarSpec => ({ type: 'json_schema', schema: JSON.stringify(o), strict: true });
const person = schema({ type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' } }, required: ['name', 'age'] });

/** Greedy decoding where the "model" prefers tokens of `want` but the grammar has the last word. */
async function decode(spec: GrammarSpec, prefer: (step: number, allowed: (id: number) => boolean) => number, max = 64): Promise<number[]> {
  const c = await engine.constraint(spec);
  const out: number[] = [];
  for (let i = 0; i < max; i++) {
    await c.ready();
    const scores = new Float32Array(V);
    c.mask(scores);
    const t = prefer(i, (id) => scores[id] !== -Infinity);
    out.push(t);
    const end = EOS.includes(t);
    c.accept(t, end);
    if (end) break;
  }
  c.dispose();
  return out;
}

describe('GrammarEngine', () => {
  it('masks everything but the tokens that continue the schema, then only end-of-sequence', async () => {
    const text = '{"name": "Bob", "age": 42}';
    const ids = tok.encode(text);
    const seen: boolean[][] = [];
    const out = await decode(person, (i, allowed) => {
      seen.push([allowed(ids[i] ?? -1), allowed(tok.encode('[')[0]), allowed(EOS[1])]);
      return i < ids.length ? ids[i] : EOS[1];
    });
    expect(out.slice(0, -1)).toEqual(ids);
    // Every token of a valid answer was allowed, an array was not at the start, and the end only after the brace.
    expect(seen.slice(0, ids.length).every(([ok]) => ok)).toBe(true);
    expect(seen[0][1]).toBe(false);
    expect(seen.slice(0, ids.length).every(([, , end]) => !end)).toBe(true);
    expect(seen[ids.length][2]).toBe(true);
  });

  it('a strict schema refuses a property it does not name', async () => {
    const ids = tok.encode('{"name": "Bob", "extra"');
    let refused = -1;
    await decode(person, (i, allowed) => {
      if (i < ids.length && !allowed(ids[i]) && refused < 0) refused = i;
      if (refused >= 0 || i >= ids.length) return EOS.find(allowed) ?? [...Array(V).keys()].find(allowed)!;
      return ids[i];
    }, ids.length + 1);
    expect(tok.decode(ids.slice(0, refused))).toBe('{"name": "Bob", "');
    expect(tok.decode(ids.slice(refused))).toBe('extra"');
  });

  it('reports a schema it cannot compile with the reason, and keeps working for everyone else', async () => {
    const live = await engine.constraint(person);
    const first = tok.encode('{"')[0];
    live.accept(first, false);
    await expect(engine.validate(schema({ type: 'nonsense' }))).rejects.toThrow(/Unsupported type "nonsense"/);
    await expect(engine.validate({ type: 'json_schema', schema: '{not json', strict: true })).rejects.toBeInstanceOf(GrammarError);
    // The sequence that was running moved to the fresh instance and still follows its grammar.
    await live.ready();
    const scores = new Float32Array(V);
    live.mask(scores);
    expect(scores[tok.encode('name')[0]]).toBe(0);
    expect(scores[tok.encode('[')[0]]).toBe(-Infinity);
    live.dispose();
    const out = await decode(person, (i, allowed) => [...Array(V).keys()].find(allowed)!, 200);
    expect(out.length).toBeGreaterThan(3);
  });

  it('compiles a schema once: the second request for it is served from the cache', async () => {
    const spec = schema({ type: 'object', properties: { k: { enum: ['a', 'b'] } }, required: ['k'] });
    let t = performance.now();
    await engine.validate(spec);
    const cold = performance.now() - t;
    t = performance.now();
    await engine.validate(spec);
    const warm = performance.now() - t;
    expect(warm).toBeLessThan(cold / 5);
  });

  it('never asks for a mask after the matcher terminated: only the stop tokens stay allowed', async () => {
    const spec = schema({ enum: ['x'] });
    const c = await engine.constraint(spec);
    for (const t of tok.encode('"x"')) {
      await c.ready();
      c.accept(t, false);
    }
    c.accept(EOS[1], false);
    await c.ready();
    expect(c.ready()).toBeUndefined();
    const scores = new Float32Array(V);
    c.mask(scores);
    expect(EOS.every((e) => scores[e] === 0)).toBe(true);
    expect(scores.filter((s) => s === 0).length).toBe(EOS.length);
    c.dispose();
  });
});
