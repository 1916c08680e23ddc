/**
 * Just enough PromQL for the dashboard: builders that keep queries uniform, and a reader that finds every metric
 * selector in a query (name and label matchers) so tests can check a dashboard against the metric catalog.
 */
import { METRICS, MetricDef } from '../metric-catalog';

/** Grafana's rate window; the tests substitute a concrete duration. */
export const RATE_INTERVAL = '$__rate_interval';

export type Matchers = Record<string, string>;

/** `{a="x", b=~"y"}`: a value starting with `=~` / `!=` / `!~` keeps that operator, otherwise `=`. */
export function matchers(m: Matchers): string {
  const parts = Object.entries(m).map(([k, v]) => {
    const op = /^(=~|!=|!~)/.exec(v)?.[1];
    return op ? `${k}${op}"${v.slice(op.length)}"` : `${k}="${v}"`;
  });
  return parts.length ? `{${parts.join(', ')}}` : '';
}

export function selector(def: MetricDef, m: Matchers = {}, suffix = ''): string {
  return `${def.name}${suffix}${matchers(m)}`;
}

/** `sum by (a, b) (expr)`, or `sum(expr)` with no labels. */
export function agg(op: 'sum' | 'max' | 'min' | 'avg', by: readonly string[], expr: string): string {
  return by.length ? `${op} by (${by.join(', ')}) (${expr})` : `${op}(${expr})`;
}

export function rate(def: MetricDef, m: Matchers = {}, suffix = '', window = RATE_INTERVAL): string {
  return `rate(${selector(def, m, suffix)}[${window}])`;
}

export function increase(def: MetricDef, m: Matchers = {}, suffix = '', window = RATE_INTERVAL): string {
  return `increase(${selector(def, m, suffix)}[${window}])`;
}

/** The q-quantile of a histogram, aggregated over every series except the `by` labels. */
export function quantile(q: number, def: MetricDef, m: Matchers = {}, by: readonly string[] = []): string {
  return `histogram_quantile(${q}, ${agg('sum', ['le', ...by], rate(def, m, '_bucket'))})`;
}

/** Mean of a histogram's observations over the rate window. */
export function mean(def: MetricDef, m: Matchers = {}, by: readonly string[] = []): string {
  return `${agg('sum', by, rate(def, m, '_sum'))} / ${agg('sum', by, rate(def, m, '_count'))}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Reading queries back

export interface MetricSelector {
  /** The name as written (with `_bucket`, `_sum`, `_count` where used). */
  name: string;
  /** Label names in the selector's matchers. */
  labels: string[];
}

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

/**
 * Every metric selector in a PromQL expression. Function names, aggregation and grouping clauses, strings, numbers,
 * durations and Grafana variables are skipped. Throws on input it does not understand (unbalanced braces).
 */
export function metricSelectors(expr: string): MetricSelector[] {
  const out: MetricSelector[] = [];
  let i = 0;
  const n = expr.length;
  const isStart = (c: string) => /[A-Za-z_:]/.test(c);
  const isPart = (c: string) => /[A-Za-z0-9_:]/.test(c);
  const skipSpace = () => {
    while (i < n && /\s/.test(expr[i])) i++;
  };
  const readString = () => {
    const q = expr[i++];
    while (i < n && expr[i] !== q) i += expr[i] === '\\' ? 2 : 1;
    if (i >= n) throw new Error(`unterminated string in ${expr}`);
    i++;
  };
  const readMatchers = (): string[] => {
    // at '{'
    const labels: string[] = [];
    i++;
    for (;;) {
      skipSpace();
      if (expr[i] === '}') {
        i++;
        return labels;
      }
      if (expr[i] === ',') {
        i++;
        continue;
      }
      const start = i;
      while (i < n && isPart(expr[i])) i++;
      if (start === i) throw new Error(`bad label matcher at ${i} in ${expr}`);
      labels.push(expr.slice(start, i));
      skipSpace();
      const op = /^(=~|!=|!~|=)/.exec(expr.slice(i))?.[1];
      if (!op) throw new Error(`bad matcher operator at ${i} in ${expr}`);
      i += op.length;
      skipSpace();
      if (expr[i] !== '"' && expr[i] !== "'") throw new Error(`expected a string at ${i} in ${expr}`);
      readString();
    }
  };
  while (i < n) {
    const c = expr[i];
    if (c === '"' || c === "'") {
      readString();
    } else if (c === '[') {
      const end = expr.indexOf(']', i);
      if (end < 0) throw new Error(`unbalanced [ in ${expr}`);
      i = end + 1;
    } else if (c === '{') {
      // a selector without a metric name: {__name__="..."} is not used here
      out.push({ name: '', labels: readMatchers() });
    } else if (c === '$') {
      i++;
      while (i < n && isPart(expr[i])) i++;
    } else if (/[0-9.]/.test(c)) {
      while (i < n && /[0-9.eE+a-zA-Z]/.test(expr[i])) i++;
    } else if (isStart(c)) {
      const start = i;
      while (i < n && isPart(expr[i])) i++;
      const word = expr.slice(start, i);
      const save = i;
      skipSpace();
      if (KEYWORDS.has(word.toLowerCase())) {
        // grouping clauses carry a label list: skip it
        if (['by', 'without', 'on', 'ignoring', 'group_left', 'group_right'].includes(word) && expr[i] === '(') {
          const end = expr.indexOf(')', i);
          if (end < 0) throw new Error(`unbalanced ( in ${expr}`);
          i = end + 1;
        }
        continue;
      }
      if (expr[i] === '(') continue; // a function or an aggregation
      if (/^(sum|max|min|avg|count|stddev|stdvar|topk|bottomk|quantile|count_values|group)$/.test(word) && /^\s*(by|without)\b/.test(expr.slice(i))) continue;
      i = save;
      skipSpace();
      const labels = expr[i] === '{' ? readMatchers() : [];
      out.push({ name: word, labels });
    } else i++;
  }
  return out;
}

/** The catalog entry a selector refers to (histogram series suffixes resolved), or undefined. */
export function catalogMetric(name: string): MetricDef | undefined {
  const all = Object.values(METRICS) as MetricDef[];
  const exact = all.find((d) => d.name === name);
  if (exact) return exact.kind === 'histogram' ? undefined : exact;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (!m) return undefined;
  return all.find((d) => d.name === m[1] && d.kind === 'histogram');
}
