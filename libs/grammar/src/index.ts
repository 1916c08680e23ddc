// Structured outputs: xgrammar (WebAssembly) loaded for Node, grammars compiled once per spec, and per-sequence
// matchers exposed to the decoder as TokenConstraints.
export * from './grammar-spec';
export * from './grammar-vocabulary';
export { GrammarEngine, type GrammarEngineOptions } from './grammar-engine';
export { GrammarConstraint } from './grammar-constraint';
export { loadXGrammar, type LoadedXGrammar } from './load-xgrammar';
