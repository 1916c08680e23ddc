import type { CompiledGrammar, GrammarCompiler, GrammarMatcher, TokenizerInfo } from '@mlc-ai/web-xgrammar';
import { GrammarError, type GrammarSpec, grammarKey } from './grammar-spec';
import { GrammarConstraint } from './grammar-constraint';
import { type LoadedXGrammar, loadXGrammar } from './load-xgrammar';

export interface GrammarEngineOptions {
  /** Byte-level token strings by id, '' for tokens a grammar may never produce (see grammarVocabulary). */
  vocab: string[];
  /** End-of-sequence ids: the only tokens allowed once the grammar is complete. */
  stopTokenIds: number[];
  /** Compiled grammars kept (least recently used dropped first). */
  cacheSize?: number;
}

interface Instance {
  generation: number;
  x: LoadedXGrammar;
  info: TokenizerInfo;
  compiler: GrammarCompiler;
  compiled: Map<string, Promise<CompiledGrammar>>;
}

/**
 * xgrammar for one vocabulary: grammars compiled once per spec (keyed by its hash) and per-sequence matchers.
 * A WebAssembly abort (xgrammar's checks end in abort(), e.g. for a schema it cannot convert) poisons its whole
 * instance; every call is therefore guarded, and an abort replaces the instance with a fresh one and reports a
 * GrammarError naming the reason, so one bad request cannot break the grammars of the others — their matchers
 * move to the new instance by replaying the tokens they accepted.
 */
export class GrammarEngine {
  private current: Promise<Instance>;
  private generation = 0;
  readonly vocabSize: number;

  private constructor(private readonly o: GrammarEngineOptions) {
    this.vocabSize = o.vocab.length;
    this.current = this.start();
  }

  static async create(o: GrammarEngineOptions): Promise<GrammarEngine> {
    const e = new GrammarEngine(o);
    await e.current;
    return e;
  }

  get stopTokenIds(): readonly number[] {
    return this.o.stopTokenIds;
  }

  /** Which instance matchers must belong to; bumps when an aborted instance is replaced. */
  get currentGeneration(): number {
    return this.generation;
  }

  private async start(): Promise<Instance> {
    const x = await loadXGrammar();
    const info = await x.xg.TokenizerInfo.createTokenizerInfo(this.o.vocab, 'byte_level', false, this.o.vocab.length, this.o.stopTokenIds);
    const compiler = await x.xg.GrammarCompiler.createGrammarCompiler(info, true);
    return { generation: this.generation, x, info, compiler, compiled: new Map() };
  }

  /** Compiles `spec` (or finds it compiled); a spec xgrammar cannot compile is a GrammarError saying why. */
  async validate(spec: GrammarSpec): Promise<void> {
    await this.compiled(spec);
  }

  /** A fresh matcher for one sequence. */
  async constraint(spec: GrammarSpec): Promise<GrammarConstraint> {
    const c = new GrammarConstraint(this, spec);
    await c.ready();
    if (c.error) throw c.error;
    return c;
  }

  /** @internal A matcher on the current instance, advanced through `tokens`. */
  async matcher(spec: GrammarSpec, tokens: readonly number[]): Promise<{ matcher: GrammarMatcher; generation: number }> {
    const { inst, compiled } = await this.compiled(spec);
    return this.guard(inst, async () => {
      const matcher = await inst.x.xg.GrammarMatcher.createGrammarMatcher(compiled, this.o.stopTokenIds);
      for (const t of tokens) if (!matcher.acceptToken(t)) throw new GrammarError(`token ${t} does not continue the grammar`);
      return { matcher, generation: inst.generation };
    });
  }

  /** @internal Runs a call into the instance of `generation`, turning an abort into a GrammarError and a new instance. */
  async guard<T>(inst: Instance | number, f: () => Promise<T> | T): Promise<T> {
    const current = await this.current;
    const owner = typeof inst === 'number' ? (inst === current.generation ? current : undefined) : inst;
    try {
      return await f();
    } catch (e) {
      if (e instanceof GrammarError) throw e;
      const aborted = (e as Error).name === 'RuntimeError'; // WebAssembly.RuntimeError: the instance aborted
      const reason = (owner && lastFatal(owner.x.errors)) ?? (e as Error).message;
      if (aborted && owner && owner.generation === this.generation) this.replace();
      throw new GrammarError(reason);
    }
  }

  private replace(): void {
    this.generation++;
    this.current = this.start();
  }

  private async compiled(spec: GrammarSpec): Promise<{ inst: Instance; compiled: CompiledGrammar }> {
    precheck(spec);
    const inst = await this.current;
    const key = grammarKey(spec);
    let p = inst.compiled.get(key);
    if (p) {
      // Least recently used is the first in insertion order.
      inst.compiled.delete(key);
      inst.compiled.set(key, p);
    } else {
      p = this.guard(inst, () => compile(inst, spec));
      inst.compiled.set(key, p);
      p.catch(() => inst.compiled.delete(key));
      const limit = this.o.cacheSize ?? 64;
      while (inst.compiled.size > limit) inst.compiled.delete(inst.compiled.keys().next().value!);
    }
    return { inst, compiled: await p };
  }
}

// Compact JSON on one line with Python's json.dumps separators and no free whitespace: a model cannot loop on
// whitespace (indent -1 is xgrammar's "one line").
const ANY_WHITESPACE = false;
const ONE_LINE = -1;
const SEPARATORS: [string, string] = [', ', ': '];

function compile(inst: Instance, spec: GrammarSpec): Promise<CompiledGrammar> {
  switch (spec.type) {
    case 'json_object':
      return inst.compiler.compileJSONSchema('{"type": "object"}', ANY_WHITESPACE, ONE_LINE, SEPARATORS, false);
    case 'json_schema':
      return inst.compiler.compileJSONSchema(spec.schema, ANY_WHITESPACE, ONE_LINE, SEPARATORS, spec.strict);
    case 'structural_tag':
      return compactJsonInTag(inst, JSON.parse(spec.tag) as unknown).then((tag) => inst.compiler.compileStructuralTag(tag as Record<string, unknown>));
  }
}

/**
 * A structural tag's json_schema parts would allow any whitespace between JSON tokens, in which a model can run
 * until max_tokens; each is replaced by the grammar of the same schema in the compact one-line form used above.
 */
async function compactJsonInTag(inst: Instance, node: unknown): Promise<unknown> {
  if (Array.isArray(node)) return Promise.all(node.map((n) => compactJsonInTag(inst, n)));
  if (node === null || typeof node !== 'object') return node;
  const o = node as Record<string, unknown>;
  if (o.type === 'json_schema' && 'json_schema' in o) {
    const ebnf = await inst.x.xg.Testings._jsonSchemaToEBNF(JSON.stringify(o.json_schema), ANY_WHITESPACE, ONE_LINE, SEPARATORS, true);
    return { type: 'grammar', grammar: ebnf };
  }
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) out[k] = await compactJsonInTag(inst, v);
  return out;
}

/** Problems found before xgrammar sees the spec get a precise message (and cost no instance). */
function precheck(spec: GrammarSpec): void {
  const text = spec.type === 'json_schema' ? spec.schema : spec.type === 'structural_tag' ? spec.tag : undefined;
  if (text === undefined) return;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new GrammarError(`not valid JSON: ${(e as Error).message}`);
  }
  if (spec.type === 'json_schema' && typeof v !== 'boolean' && (typeof v !== 'object' || v === null || Array.isArray(v))) {
    throw new GrammarError('a JSON schema must be an object or a boolean');
  }
}

/** xgrammar prints `[FATAL] /path/file.cc:123: Check failed: (…) is false: the reason`; the reason is what matters. */
function lastFatal(lines: string[]): string | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const m = /\[FATAL\][^:]*:\d+: (.*)$/s.exec(lines[i]);
    if (m) return m[1].replace(/^Check failed: \(.*?\) is false: /s, '').trim();
  }
  return undefined;
}
