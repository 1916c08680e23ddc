import type { ApiError } from '../errors';

/** The ApiError a promise rejects with (fails the test if it resolves). */
export async function failure(p: Promise<unknown>): Promise<ApiError> {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error('expected a failure');
}
