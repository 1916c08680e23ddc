import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { constants, runInThisContext } from 'node:vm';
import type * as XGrammar from '@mlc-ai/web-xgrammar';

export type XGrammarModule = typeof XGrammar;

export interface LoadedXGrammar {
  xg: XGrammarModule;
  /** What the WebAssembly side printed to stderr (its `[FATAL] … Check failed` lines), newest last. */
  readonly errors: string[];
}

let source: { file: string; text: string } | undefined;

/**
 * Loads @mlc-ai/web-xgrammar. The package is a UMD bundle that declares itself an ES module, and its Emscripten
 * loader calls `require` and reads `__filename`, which an ES module does not have; so the file is evaluated as the
 * CommonJS module its UMD header supports, with a console of its own so that the reason for an abort can be read
 * back instead of going to the worker's stderr. Each call gives a fresh module with its own WebAssembly instance:
 * an instance that aborted is replaced by loading a new one.
 */
export async function loadXGrammar(): Promise<LoadedXGrammar> {
  if (!source) {
    const file = createRequire(__filename).resolve('@mlc-ai/web-xgrammar');
    source = { file, text: readFileSync(file, 'utf8') };
  }
  const { file, text } = source;
  const wrapper = runInThisContext(`(function (exports, require, module, __filename, __dirname, console) {${text}\n})`, {
    filename: file,
    // Its loader does `await import('module')`.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  }) as (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dir: string, console: Console) => void;
  const errors: string[] = [];
  const capture = (...args: unknown[]) => {
    errors.push(args.map(String).join(' '));
    if (errors.length > 20) errors.shift();
  };
  const quiet = Object.assign(Object.create(console) as Console, { error: capture, warn: capture });
  const module = { exports: {} as object };
  wrapper(module.exports, createRequire(file), module, file, dirname(file), quiet);
  const xg = module.exports as XGrammarModule;
  // The WebAssembly instance starts on first use; start it now, so that the warning below is the only one.
  await withoutExperimentalWarning(async () => (await xg.TokenizerInfo.createTokenizerInfo([])).dispose());
  return { xg, errors };
}

/** vm's USE_MAIN_CONTEXT_DEFAULT_LOADER is flagged experimental on Node 20 and says so once per process. */
async function withoutExperimentalWarning(f: () => Promise<void>): Promise<void> {
  const emit = process.emitWarning;
  process.emitWarning = ((w: string | Error, ...rest: unknown[]) => {
    const msg = typeof w === 'string' ? w : w.message;
    if (msg.includes('USE_MAIN_CONTEXT_DEFAULT_LOADER')) return;
    (emit as (...a: unknown[]) => void).call(process, w, ...rest);
  }) as typeof process.emitWarning;
  try {
    await f();
  } finally {
    process.emitWarning = emit;
  }
}
