/**
 * Micro-benchmark behind issue 9k: which formulation of decode attention over a zero-copy past [B, Hkv, C, D]
 * costs least in onnxruntime's CPU provider. Each variant is a tiny graph of 36 chained attentions (one step's
 * layers, each over its own past buffers, so the cache is streamed from memory as in a real step), timed at a
 * short and a long capacity. Run: `node tools/run-ts.mjs bench/engine/attention-layouts.ts` (IVL_BENCH_THREADS=2).
 * Here K·qᵀ forms (B, C) cost ~40% less than q·Kᵀ at C = 3,584, yet the same change in the 36-layer decode step
 * (`npm run bench:decode`) did not make the step at 3,400 faster (8 streams slower), so the graph keeps q·Kᵀ:
 * this graph alone does not predict the whole step; see BENCHMARKS.md's bench:decode section.
 */
import { GraphBuilder, floatAttr } from '@ivl/onnx-graph';
import * as ort from 'onnxruntime-node';
import { Rng } from '@ivl/tensor';

const [Hkv, G, D, L] = [2, 8, 128, 36];
const threads = Number(process.env.IVL_BENCH_THREADS ?? 2);
const runs = Number(process.env.IVL_BENCH_RUNS ?? 15);
const scale = floatAttr(1 / Math.sqrt(D));
const tr = (g: GraphBuilder, x: string) => g.op('Transpose', [x], { perm: [0, 1, 3, 2] });

type Attn = (g: GraphBuilder, q: string, k: string, v: string, bias: string, biasT: string) => string;
const variants: Record<string, Attn> = {
  // Current slot-attention form: scores q·Kᵀ (K as transposed B), output P·V (V as B).
  'A: FusedMatMul(q,K,transB) · MatMul(P,V)': (g, q, k, v, bias) => {
    const p = g.op('Softmax', [g.op('Add', [g.ms('FusedMatMul', [q, k], { alpha: scale, transB: 1 })[0], bias])], { axis: -1 });
    return g.op('MatMul', [p, v]);
  },
  // K as the A operand (row-major, never packed): scores [C, G]; softmax over axis 2; output Pᵀ·V with transA.
  'B: MatMul(K,qT) · FusedMatMul(PT,V,transA)': (g, q, k, v, _b, biasT) => {
    const pT = g.op('Softmax', [g.op('Add', [g.ms('FusedMatMul', [k, tr(g, q)], { alpha: scale })[0], biasT])], { axis: 2 });
    return g.ms('FusedMatMul', [pT, v], { transA: 1 })[0];
  },
  // As B for the scores, then the small score tensor transposed back; output P·V as now.
  'C: MatMul(K,qT)+T · MatMul(P,V)': (g, q, k, v, bias) => {
    const s = tr(g, g.ms('FusedMatMul', [k, tr(g, q)], { alpha: scale })[0]);
    return g.op('MatMul', [g.op('Softmax', [g.op('Add', [s, bias])], { axis: -1 }), v]);
  },
  // Current scores; output computed transposed, Vᵀ·Pᵀ (V as the transposed A operand), then a small transpose.
  // D and E: the output's transposed forms, slower in every run.
  'D: FusedMatMul(q,K,transB) · FusedMatMul(V,P,transA,transB)+T': (g, q, k, v, bias) => {
    const p = g.op('Softmax', [g.op('Add', [g.ms('FusedMatMul', [q, k], { alpha: scale, transB: 1 })[0], bias])], { axis: -1 });
    return tr(g, g.ms('FusedMatMul', [v, p], { transA: 1, transB: 1 })[0]);
  },
  // B's scores, output Vᵀ·Pᵀ with V as transposed A, then a small transpose.
  'E: MatMul(K,qT) · FusedMatMul(V,PT,transA)+T': (g, q, k, v, _b, biasT) => {
    const pT = g.op('Softmax', [g.op('Add', [g.ms('FusedMatMul', [k, tr(g, q)], { alpha: scale })[0], biasT])], { axis: 2 });
    return tr(g, g.ms('FusedMatMul', [v, pT], { transA: 1 })[0]);
  },
};

function model(attn: Attn): Uint8Array {
  const g = new GraphBuilder('attn');
  let q = g.input('q', 'float32', [1, Hkv, G, D]);
  const bias = g.input('bias', 'float32', [1, 1, 1, 'C']);
  const biasT = g.op('Transpose', [bias], { perm: [0, 1, 3, 2] });
  for (let l = 0; l < L; l++) {
    q = attn(g, q, g.input(`k${l}`, 'float32', [1, Hkv, 'C', D]), g.input(`v${l}`, 'float32', [1, Hkv, 'C', D]), bias, biasT);
  }
  g.output(q, 'out', 'float32', [1, Hkv, G, D]);
  return g.toModel();
}

async function main() {
  const rng = new Rng(3);
  const caps = [256, 3584];
  const feedsAt = new Map<number, Record<string, ort.Tensor>>();
  for (const C of caps) {
    const f: Record<string, ort.Tensor> = { q: new ort.Tensor('float32', rng.fillNormal(new Float32Array(Hkv * G * D)), [1, Hkv, G, D]) };
    // Every slot valid except the last 16 rows: the mask is exercised as in a real step.
    f.bias = new ort.Tensor('float32', Float32Array.from({ length: C }, (_, i) => (i < C - 16 ? 0 : -Infinity)), [1, 1, 1, C]);
    for (let l = 0; l < L; l++) {
      for (const n of ['k', 'v']) f[`${n}${l}`] = new ort.Tensor('float32', rng.fillNormal(new Float32Array(Hkv * C * D)), [1, Hkv, C, D]);
    }
    feedsAt.set(C, f);
  }
  const opts: ort.InferenceSession.SessionOptions = { graphOptimizationLevel: 'all', intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', executionProviders: ['cpu'] };
  const sessions = new Map<string, ort.InferenceSession>();
  for (const [name, attn] of Object.entries(variants)) sessions.set(name, await ort.InferenceSession.create(model(attn), opts));
  const ref = new Map<number, Float32Array>();
  const times = new Map<string, number[]>();
  // Interleaved rounds so the shared machine's load falls on every variant alike.
  for (let r = 0; r < runs + 2; r++) {
    for (const C of caps) {
      for (const [name, s] of sessions) {
        const t0 = performance.now();
        const out = (await s.run(feedsAt.get(C)!)).out.data as Float32Array;
        const ms = performance.now() - t0;
        if (r === 0) {
          if (!ref.has(C)) ref.set(C, out);
          const base = ref.get(C)!;
          let err = 0;
          for (let i = 0; i < out.length; i++) err = Math.max(err, Math.abs(out[i] - base[i]));
          console.error(`${name} C=${C}: max |Δ| vs A ${err.toExponential(2)}`);
        }
        if (r >= 2) times.set(`${name}@${C}`, [...(times.get(`${name}@${C}`) ?? []), ms]);
      }
    }
  }
  const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  console.log(`| variant (${L} layers, Hkv=${Hkv}, G=${G}, D=${D}, ${threads} threads) | C=256 | C=3584 | Δ |`);
  console.log('|---|---|---|---|');
  for (const name of sessions.keys()) {
    const [a, b] = caps.map((C) => med(times.get(`${name}@${C}`)!));
    console.log(`| ${name} | ${a.toFixed(1)} ms | ${b.toFixed(1)} ms | ${(b - a).toFixed(1)} ms |`);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
