import type { z } from 'zod';
import { ApiError, badRequest } from '../errors';

/** OpenAI writes parameter paths as `messages[1].content[0].image_url`. */
export function paramPath(path: ReadonlyArray<PropertyKey>): string | null {
  if (path.length === 0) return null;
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out;
}

/** The value at an issue's path in the body (zod does not report the input unless asked). */
function valueAt(body: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let v: unknown = body;
  for (const p of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[p];
  }
  return v;
}

const typeName = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'number' && !Number.isInteger(v) ? `the number ${v}` : `${typeof v} ${JSON.stringify(v)?.slice(0, 40)}`);

function describe(issue: z.core.$ZodIssue, body: unknown): string {
  const where = paramPath(issue.path);
  const subject = where ? `'${where}'` : 'the request body';
  if (issue.code === 'invalid_type') {
    const got = valueAt(body, issue.path);
    // A field that is present with the wrong type is reported as such, never as missing.
    if (got === undefined) return `${subject} is required`;
    return `${subject}: ${issue.message.replace(/, received .*$/, '')}, got ${typeName(got)}`;
  }
  if (issue.code === 'invalid_union' && (issue as { note?: string }).note === 'No matching discriminator') {
    const key = (issue as { discriminator?: string }).discriminator;
    if (key === 'role') return `${subject}: unsupported message role; use system, developer, user, assistant or tool`;
    if (key === 'type') return `${subject}: unsupported content part type; use text, image_url or video_url`;
  }
  return `${subject}: ${issue.message}`;
}

/** Validates a body with a zod schema; the first problem becomes a 400 naming the parameter, as OpenAI does. */
export function parseBody<S extends z.ZodType>(schema: S, body: unknown): z.infer<S> {
  if (body === undefined || body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest('invalid_json', 'the request body must be a JSON object');
  }
  const r = schema.safeParse(body);
  if (r.success) return r.data;
  const issue = deepest(r.error.issues[0], []);
  const missing = issue.code === 'invalid_type' && valueAt(body, issue.path) === undefined;
  return throwIssue(new ApiError(400, 'invalid_request_error', missing ? 'missing_required_parameter' : 'invalid_value', describe(issue, body), paramPath(issue.path)));
}

type Issue = z.core.$ZodIssue;

/**
 * A union reports one error list per alternative ("expected string" for the string form of `content`, then the
 * real problem inside the array form). The alternative that got furthest into the input names the actual mistake.
 */
function deepest(issue: Issue, prefix: PropertyKey[]): Issue {
  const path = [...prefix, ...issue.path];
  const branches = (issue as { errors?: Issue[][] }).errors;
  if (issue.code !== 'invalid_union' || !branches?.length) return { ...issue, path } as Issue;
  let best: Issue | undefined;
  for (const branch of branches) {
    if (!branch.length) continue;
    const cand = deepest(branch[0], path);
    if (!best || cand.path.length > best.path.length) best = cand;
  }
  return best ?? ({ ...issue, path } as Issue);
}

function throwIssue(e: ApiError): never {
  throw e;
}
