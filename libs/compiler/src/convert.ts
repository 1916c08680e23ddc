import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Checkpoint, ModelConfig, ModelParts, allParts, expectedTensors, holdsLayer, llmNames } from '@ivl/checkpoint';
import { BUNDLE_FORMAT, BundleError, BundleManifest, WEIGHT_FORMATS, WeightFormat, activationTypeFor, defaultBlockSize } from './manifest';
import { LinearStorage, WeightSink } from './weight-sink';
import { ropeTables } from './rope';

export interface ConvertOptions {
  dtype: WeightFormat;
  out: string;
  /** Quantisation block along K for int8/int4 (default: 128 for int4, 32 for int8). */
  blockSize?: number;
  /** Replace an existing bundle at `out`. */
  force?: boolean;
  /**
   * Only these parts (stage-local conversion): a pipeline stage converts its own layers, plus vision, embeddings and
   * head on stage 0, and reads no other tensor of the checkpoint. Default: the whole model.
   */
  parts?: ModelParts;
  onProgress?: (doneBytes: number, totalBytes: number, what: string) => void;
}

interface Policy {
  small: 'float32' | 'float16';
  embed: 'float32' | 'float16';
  llm: LinearStorage;
  vision: LinearStorage;
  head: LinearStorage;
}

function policyFor(dtype: WeightFormat, blockSize: number): Policy {
  switch (dtype) {
    case 'fp32':
      return { small: 'float32', embed: 'float32', llm: { kind: 'dense', type: 'float32' }, vision: { kind: 'dense', type: 'float32' }, head: { kind: 'dense', type: 'float32' } };
    case 'fp16':
      return { small: 'float16', embed: 'float16', llm: { kind: 'dense', type: 'float16' }, vision: { kind: 'dense', type: 'float16' }, head: { kind: 'dense', type: 'float16' } };
    case 'int8': {
      const q8: LinearStorage = { kind: 'nbits', bits: 8, blockSize };
      return { small: 'float32', embed: 'float16', llm: q8, vision: q8, head: q8 };
    }
    case 'int4': {
      // The vision tower and the head stay 8-bit: they are a small share of decode bytes but sensitive to 4-bit error.
      const q8: LinearStorage = { kind: 'nbits', bits: 8, blockSize };
      return { small: 'float32', embed: 'float16', llm: { kind: 'nbits', bits: 4, blockSize }, vision: q8, head: q8 };
    }
  }
}

/**
 * Converts a checkpoint into a bundle: weights converted once (transposed for MatMul, narrowed, or block-quantised)
 * into a few files that every graph references in place. Written to a sibling temp directory and renamed when
 * complete, so an interrupted conversion never leaves a bundle that a later run would trust.
 */
export function convertCheckpoint(ckpt: Checkpoint, opts: ConvertOptions): BundleManifest {
  if (!WEIGHT_FORMATS.includes(opts.dtype)) throw new BundleError(`unknown dtype ${opts.dtype}; choose one of ${WEIGHT_FORMATS.join(', ')}`);
  const out = resolve(opts.out);
  if (existsSync(out) && !opts.force) throw new BundleError(`${opts.out} already exists (pass --force to replace it)`);
  const blockSize = opts.blockSize ?? defaultBlockSize(opts.dtype);
  if (![16, 32, 64, 128, 256].includes(blockSize)) throw new BundleError(`block size ${blockSize} is not supported (16, 32, 64, 128 or 256)`);
  const policy = policyFor(opts.dtype, blockSize);
  const act = activationTypeFor(opts.dtype);
  const c = ckpt.config;
  mkdirSync(dirname(out), { recursive: true });
  const tmp = join(dirname(out), `.${basename(out)}.partial-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  const sink = new WeightSink(tmp);
  const parts = opts.parts ?? allParts(c);
  const total = expectedTensors(c, parts).reduce((a, t) => a + ckpt.info(t.name).length, 0);
  const readBefore = ckpt.bytesRead;
  let done = 0;
  const read = (name: string): Float32Array => {
    const v = ckpt.readF32(name);
    done += ckpt.info(name).length;
    opts.onProgress?.(done, total, name);
    return v;
  };
  const names = llmNames(c.llm.kind);
  try {
    if (parts.vision) convertVision(c, sink, policy, opts.dtype, read);
    const l = c.llm;
    const Hl = l.hiddenSize;
    // A tied head reads the embedding table, so stage 0 needs it whether or not it embeds (it always does).
    let embed: Float32Array | null = null;
    if (parts.embed) {
      sink.open('embed.bin');
      embed = read(names.embed);
      sink.addFloat('llm.embed', policy.embed, [l.vocabSize, Hl], embed);
    }

    const anyLayer = parts.layers.some(([a, b]) => b > a);
    if (anyLayer) {
      sink.open('rope.bin');
      const { cos, sin } = ropeTables(l.headDim, l.ropeTheta, l.maxPositionEmbeddings);
      sink.addFloat('rope.cos', act, [l.maxPositionEmbeddings, l.headDim / 2], cos);
      sink.addFloat('rope.sin', act, [l.maxPositionEmbeddings, l.headDim / 2], sin);
    }

    const q = l.numHeads * l.headDim;
    const kv = l.numKvHeads * l.headDim;
    for (let i = 0; i < l.numLayers; i++) {
      if (!holdsLayer(parts, i)) continue;
      sink.open(`layer.${String(i).padStart(3, '0')}.bin`);
      const n = names.layer(i);
      const k = `llm.${i}.`;
      sink.addFloat(k + 'in_norm', policy.small, [Hl], read(n.inNorm));
      // One packed [q; k; v] weight in Qwen2's order whatever the source layout, so every layer graph is the same.
      const qkvW = n.wqkv ? splitGroupedWqkv(read(n.wqkv), l.numHeads, l.numKvHeads, l.headDim, Hl) : concatRows([read(`${n.q}.weight`), read(`${n.k}.weight`), read(`${n.v}.weight`)]);
      sink.addLinear(k + 'qkv', qkvW, q + 2 * kv, Hl, policy.llm, policy.small);
      // InternLM2 has no biases: zeros keep the layer graph identical to Qwen2's (q + 2·kv values per layer).
      const qkvB = l.attentionBias ? concatRows([read(`${n.q}.bias`), read(`${n.k}.bias`), read(`${n.v}.bias`)]) : new Float32Array(q + 2 * kv);
      sink.addFloat(k + 'qkv.bias', policy.small, [q + 2 * kv], qkvB);
      sink.addLinear(k + 'o', read(n.o), Hl, q, policy.llm, policy.small);
      sink.addFloat(k + 'post_norm', policy.small, [Hl], read(n.postNorm));
      // gate and up read the same input: one packed weight [gate; up] means one kernel call and one
      // quantisation of the activations instead of two.
      const gateUp = concatRows([read(n.gate), read(n.up)]);
      sink.addLinear(k + 'gate_up', gateUp, 2 * l.intermediateSize, Hl, policy.llm, policy.small);
      sink.addLinear(k + 'down', read(n.down), Hl, l.intermediateSize, policy.llm, policy.small);
    }

    if (parts.head) {
      sink.open('head.bin');
      sink.addFloat('llm.norm', policy.small, [Hl], read(names.finalNorm));
      const headW = l.tieWordEmbeddings ? (embed ?? read(names.embed)) : read(names.head);
      sink.addLinear('llm.head', headW, l.vocabSize, Hl, policy.head, policy.small);
    }
    sink.close();

    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      dtype: opts.dtype,
      activationType: act,
      source: { dir: ckpt.dir, fingerprint: ckpt.fingerprint() },
      config: c,
      generation: ckpt.generation,
      tensors: sink.tensors,
      parts,
      stats: { bytesRead: ckpt.bytesRead - readBefore, bytesWritten: sink.bytesWritten },
      createdAt: new Date().toISOString(),
    };
    // The manifest is written last: a directory without one is never trusted.
    writeFileSync(join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 1));
    if (existsSync(out)) rmSync(out, { recursive: true, force: true });
    renameSync(tmp, out);
    return manifest;
  } catch (e) {
    sink.close();
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
}

type Read = (name: string) => Float32Array;

/** InternViT (300M or 6B style, as vision_config says) and mlp1 into vision.bin. */
function convertVision(c: ModelConfig, sink: WeightSink, policy: Policy, dtype: WeightFormat, read: Read): void {
  const v = c.vision;
  const C = v.hiddenSize;
  sink.open('vision.bin');
  const vp = 'vision_model.';
  sink.addFloat('vision.patch.weight', dtype === 'fp16' ? 'float16' : 'float32', [C, 3, v.patchSize, v.patchSize], read(`${vp}embeddings.patch_embedding.weight`));
  sink.addFloat('vision.patch.bias', policy.small, [C], read(`${vp}embeddings.patch_embedding.bias`));
  sink.addFloat('vision.cls', policy.small, [1, 1, C], read(`${vp}embeddings.class_embedding`));
  sink.addFloat('vision.pos', policy.small, [1, c.gridSize * c.gridSize + 1, C], read(`${vp}embeddings.position_embedding`));
  const norms: Array<[string, string]> = [['norm1.weight', 'norm1.w'], ['norm2.weight', 'norm2.w'], ['ls1', 'ls1'], ['ls2', 'ls2']];
  if (v.normType === 'layer_norm') norms.push(['norm1.bias', 'norm1.b'], ['norm2.bias', 'norm2.b']);
  if (v.qkNormalization) norms.push(['attn.q_norm.weight', 'q_norm.w'], ['attn.k_norm.weight', 'k_norm.w']);
  for (let i = 0; i < v.numLayers; i++) {
    const p = `${vp}encoder.layers.${i}.`;
    const k = `vision.${i}.`;
    for (const [src, dst] of norms) sink.addFloat(k + dst, policy.small, [C], read(p + src));
    sink.addLinear(k + 'qkv', read(p + 'attn.qkv.weight'), 3 * C, C, policy.vision, policy.small);
    if (v.qkvBias) sink.addFloat(k + 'qkv.bias', policy.small, [3 * C], read(p + 'attn.qkv.bias'));
    sink.addLinear(k + 'proj', read(p + 'attn.proj.weight'), C, C, policy.vision, policy.small);
    sink.addFloat(k + 'proj.bias', policy.small, [C], read(p + 'attn.proj.bias'));
    sink.addLinear(k + 'fc1', read(p + 'mlp.fc1.weight'), v.intermediateSize, C, policy.vision, policy.small);
    sink.addFloat(k + 'fc1.bias', policy.small, [v.intermediateSize], read(p + 'mlp.fc1.bias'));
    sink.addLinear(k + 'fc2', read(p + 'mlp.fc2.weight'), C, v.intermediateSize, policy.vision, policy.small);
    sink.addFloat(k + 'fc2.bias', policy.small, [C], read(p + 'mlp.fc2.bias'));
  }
  const S4 = 4 * C;
  const Hl = c.llm.hiddenSize;
  sink.addFloat('mlp1.ln.w', policy.small, [S4], read('mlp1.0.weight'));
  sink.addFloat('mlp1.ln.b', policy.small, [S4], read('mlp1.0.bias'));
  sink.addLinear('mlp1.fc1', read('mlp1.1.weight'), Hl, S4, policy.vision, policy.small);
  sink.addFloat('mlp1.fc1.bias', policy.small, [Hl], read('mlp1.1.bias'));
  sink.addLinear('mlp1.fc2', read('mlp1.3.weight'), Hl, Hl, policy.vision, policy.small);
  sink.addFloat('mlp1.fc2.bias', policy.small, [Hl], read('mlp1.3.bias'));
}

function concatRows(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * InternLM2's wqkv [(nH + 2·nKV)·D, hidden] reads as [nKV][G + 2][D] rows (G = nH / nKV): in KV group g, blocks
 * 0..G−1 are query heads g·G..g·G+G−1, block G key head g, block G+1 value head g (family doc §3). Returns the rows
 * reordered to [all query heads; all key heads; all value heads], the layout of Qwen2's packed projection.
 */
export function splitGroupedWqkv(w: Float32Array, nH: number, nKV: number, D: number, hidden: number): Float32Array {
  const G = nH / nKV;
  const out = new Float32Array(w.length);
  const rowLen = D * hidden;
  const copy = (srcBlock: number, dstBlock: number) => out.set(w.subarray(srcBlock * rowLen, (srcBlock + 1) * rowLen), dstBlock * rowLen);
  for (let g = 0; g < nKV; g++) {
    for (let j = 0; j < G; j++) copy(g * (G + 2) + j, g * G + j);
    copy(g * (G + 2) + G, nH + g);
    copy(g * (G + 2) + G + 1, nH + nKV + g);
  }
  return out;
}
