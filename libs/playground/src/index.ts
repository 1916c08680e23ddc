// The web playground: browser code (bundled by tools/build.mjs into dist/playground) and, for Node, where the
// built page lives. Its pure parts (grounding, SSE parsing) are unit-tested; the page is tested in Chromium.
export { parseGrounding, type GroundedRef } from './grounding';
export { SseParser } from './sse';
export { playgroundDir } from './playground-dir';
