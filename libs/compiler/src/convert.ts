import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { Checkpoint, lmHeadName } from '@ivl/checkpoint';
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
  const total = ckpt.totalWeightBytes;
  let done = 0;
  const read = (name: string): Float32Array => {
    const v = ckpt.readF32(name);
    done += ckpt.info(name).length;
    opts.onProgress?.(done, total, name);
    return v;
  };
  try {
    const v = c.vision;
    const C = v.hiddenSize;
    sink.open('vision.bin');
    const vp = 'vision_model.';
    sink.addFloat('vision.patch.weight', opts.dtype === 'fp16' ? 'float16' : 'float32', [C, 3, v.patchSize, v.patchSize], read(`${vp}embeddings.patch_embedding.weight`));
    sink.addFloat('vision.patch.bias', policy.small, [C], read(`${vp}embeddings.patch_embedding.bias`));
    sink.addFloat('vision.cls', policy.small, [1, 1, C], read(`${vp}embeddings.class_embedding`));
    sink.addFloat('vision.pos', policy.small, [1, c.gridSize * c.gridSize + 1, C], read(`${vp}embeddings.position_embedding`));
    for (let i = 0; i < v.numLayers; i++) {
      const p = `${vp}encoder.layers.${i}.`;
      const k = `vision.${i}.`;
      for (const [src, dst] of [['norm1.weight', 'norm1.w'], ['norm1.bias', 'norm1.b'], ['norm2.weight', 'norm2.w'], ['norm2.bias', 'norm2.b'], ['ls1', 'ls1'], ['ls2', 'ls2']]) {
        sink.addFloat(k + dst, policy.small, [C], read(p + src));
      }
      sink.addLinear(k + 'qkv', read(p + 'attn.qkv.weight'), 3 * C, C, policy.vision, policy.small);
      sink.addFloat(k + 'qkv.bias', policy.small, [3 * C], v.qkvBias ? read(p + 'attn.qkv.bias') : new Float32Array(3 * C));
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

    const l = c.llm;
    sink.open('embed.bin');
    const embedName = 'language_model.model.embed_tokens.weight';
    const embed = read(embedName);
    sink.addFloat('llm.embed', policy.embed, [l.vocabSize, Hl], embed);

    sink.open('rope.bin');
    const { cos, sin } = ropeTables(l.headDim, l.ropeTheta, l.maxPositionEmbeddings);
    sink.addFloat('rope.cos', act, [l.maxPositionEmbeddings, l.headDim / 2], cos);
    sink.addFloat('rope.sin', act, [l.maxPositionEmbeddings, l.headDim / 2], sin);

    const q = l.numHeads * l.headDim;
    const kv = l.numKvHeads * l.headDim;
    for (let i = 0; i < l.numLayers; i++) {
      sink.open(`layer.${String(i).padStart(3, '0')}.bin`);
      const p = `language_model.model.layers.${i}.`;
      const k = `llm.${i}.`;
      sink.addFloat(k + 'in_norm', policy.small, [Hl], read(p + 'input_layernorm.weight'));
      const qkvW = new Float32Array((q + 2 * kv) * Hl);
      qkvW.set(read(p + 'self_attn.q_proj.weight'), 0);
      qkvW.set(read(p + 'self_attn.k_proj.weight'), q * Hl);
      qkvW.set(read(p + 'self_attn.v_proj.weight'), (q + kv) * Hl);
      sink.addLinear(k + 'qkv', qkvW, q + 2 * kv, Hl, policy.llm, policy.small);
      const qkvB = new Float32Array(q + 2 * kv);
      qkvB.set(read(p + 'self_attn.q_proj.bias'), 0);
      qkvB.set(read(p + 'self_attn.k_proj.bias'), q);
      qkvB.set(read(p + 'self_attn.v_proj.bias'), q + kv);
      sink.addFloat(k + 'qkv.bias', policy.small, [q + 2 * kv], qkvB);
      sink.addLinear(k + 'o', read(p + 'self_attn.o_proj.weight'), Hl, q, policy.llm, policy.small);
      sink.addFloat(k + 'post_norm', policy.small, [Hl], read(p + 'post_attention_layernorm.weight'));
      // gate and up read the same input: one packed weight [gate; up] means one kernel call and one
      // quantisation of the activations instead of two.
      const gateUp = new Float32Array(2 * l.intermediateSize * Hl);
      gateUp.set(read(p + 'mlp.gate_proj.weight'), 0);
      gateUp.set(read(p + 'mlp.up_proj.weight'), l.intermediateSize * Hl);
      sink.addLinear(k + 'gate_up', gateUp, 2 * l.intermediateSize, Hl, policy.llm, policy.small);
      sink.addLinear(k + 'down', read(p + 'mlp.down_proj.weight'), Hl, l.intermediateSize, policy.llm, policy.small);
    }

    sink.open('head.bin');
    sink.addFloat('llm.norm', policy.small, [Hl], read('language_model.model.norm.weight'));
    const headW = l.tieWordEmbeddings ? embed : read(lmHeadName(c));
    sink.addLinear('llm.head', headW, l.vocabSize, Hl, policy.head, policy.small);
    sink.close();

    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      dtype: opts.dtype,
      activationType: act,
      source: { dir: ckpt.dir, fingerprint: ckpt.fingerprint() },
      config: c,
      generation: ckpt.generation,
      tensors: sink.tensors,
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
