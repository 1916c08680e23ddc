/** Error classes whose message is meant for the user as it is (bad input, bad model, bad plan). */
const USER_ERRORS = new Set([
  'CheckpointError',
  'BundleError',
  'PlanError',
  'PromptError',
  'PreprocessError',
  'SamplingError',
  'SafetensorsError',
  'RangeError',
  'KvBudgetError',
  'RequestError',
]);

/** Prints a one-line reason and exits non-zero; a stack trace only for genuine bugs or with IVL_DEBUG. */
export function reportAndExit(e: unknown): never {
  const err = e as Error;
  if (USER_ERRORS.has(err?.name) && !process.env.IVL_DEBUG) console.error(`ivl: ${err.message}`);
  else console.error(err?.stack ?? String(e));
  process.exit(1);
}
