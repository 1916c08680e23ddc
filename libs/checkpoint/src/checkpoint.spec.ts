import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeModel } from './make-model/make-model';
import { Checkpoint } from './checkpoint';
import { expectedTensors } from './tensor-names';
import { PRESETS, publishedConfig } from './make-model/presets';
import { parseModelConfig } from './config';

function fresh(preset = 'tiny', extra: Partial<Parameters<typeof makeModel>[0]> = {}) {
  const dir = join(mkdtempSync(join(tmpdir(), 'ck-')), 'model');
  makeModel({ preset, out: dir, seed: 3, ...extra });
  return dir;
}

describe('make-model and the checkpoint reader', () => {
  it('writes the published layout that the reader accepts', () => {
    const dir = fresh();
    expect(readdirSync(dir).sort()).toEqual(
      ['added_tokens.json', 'config.json', 'generation_config.json', 'merges.txt', 'model.safetensors', 'special_tokens_map.json', 'tokenizer_config.json', 'vocab.json'].sort(),
    );
    expect(statSync(join(dir, 'generation_config.json')).size).toBe(129);
    const ck = Checkpoint.open(dir);
    expect(ck.config.numImageToken).toBe(256);
    expect(ck.config.llm.vocabSize).toBe(151674);
    expect(ck.generation.eosTokenIds).toEqual([151644, 151645, 151643]);
    expect(ck.storedDType).toBe('BF16');
    expect(ck.tensors.size).toBe(expectedTensors(ck.config).length);
    expect(ck.info('language_model.lm_head.weight').shape).toEqual([151674, 64]);
  });

  it('shards like the hub when the checkpoint exceeds the shard size', () => {
    const dir = fresh('tiny', { maxShardBytes: 20_000_000 });
    const idx = JSON.parse(readFileSync(join(dir, 'model.safetensors.index.json'), 'utf8'));
    const shards = new Set(Object.values(idx.weight_map));
    expect(shards.size).toBeGreaterThan(1);
    expect(idx.weight_map['language_model.lm_head.weight']).toMatch(/^model-0000\d-of-0000\d\.safetensors$/);
    const ck = Checkpoint.open(dir);
    expect(ck.totalWeightBytes).toBe(idx.metadata.total_size);
  });

  it('names the problem: missing tensor, wrong shape, bad architecture, truncated file, missing shard', () => {
    const dir = fresh('tiny-mha');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    const bad = mkdtempSync(join(tmpdir(), 'ck-bad-'));
    cpSync(dir, bad, { recursive: true });
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, llm_config: { ...cfg.llm_config, architectures: ['LlamaForCausalLM'], model_type: 'llama' } }));
    expect(() => Checkpoint.open(bad)).toThrow(/unsupported model: language model LlamaForCausalLM\. Supported: InternVLChatModel/);
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, llm_config: { ...cfg.llm_config, num_hidden_layers: 3 } }));
    expect(() => Checkpoint.open(bad)).toThrow(/missing tensors?: language_model\.model\.layers\.2\.input_layernorm\.weight \[64\]/);
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, llm_config: { ...cfg.llm_config, intermediate_size: 100 } }));
    expect(() => Checkpoint.open(bad)).toThrow(/tensor language_model\.model\.layers\.0\.mlp\.gate_proj\.weight has shape \[96, 64\], expected \[100, 64\]/);
    writeFileSync(join(bad, 'config.json'), JSON.stringify(cfg));
    truncateSync(join(bad, 'model.safetensors'), statSync(join(bad, 'model.safetensors')).size - 1000);
    expect(() => Checkpoint.open(bad)).toThrow(/model\.safetensors: truncated safetensors file/);
    rmSync(join(bad, 'config.json'));
    expect(() => Checkpoint.open(bad)).toThrow(/has no config\.json/);
    const sharded = fresh('tiny', { maxShardBytes: 20_000_000 });
    rmSync(join(sharded, 'model-00002-of-00003.safetensors'), { force: true });
    rmSync(join(sharded, 'model-00002-of-00002.safetensors'), { force: true });
    expect(() => Checkpoint.open(sharded)).toThrow(/shard model-0000\d-of-0000\d\.safetensors named in model\.safetensors\.index\.json is missing/);
  });

  it('fingerprints differ between seeds and are stable for the same files', () => {
    const a = Checkpoint.open(fresh('tiny-mha'));
    const b = Checkpoint.open(fresh('tiny-mha', { seed: 4 }));
    expect(a.fingerprint()).toBe(Checkpoint.open(a.dir).fingerprint());
    expect(a.fingerprint()).not.toBe(b.fingerprint());
  });
});

describe('every size of the family', () => {
  it('tiny variants of each architecture write their published layout and load', () => {
    const il2 = Checkpoint.open(fresh('tiny-26b'));
    expect(readdirSync(il2.dir).sort()).toEqual(['added_tokens.json', 'config.json', 'generation_config.json', 'model.safetensors', 'special_tokens_map.json', 'tokenizer.model', 'tokenizer_config.json'].sort());
    expect(il2.config.llm).toMatchObject({ kind: 'internlm2', attentionBias: false, addBos: true, rmsNormEps: 1e-5, ropeScaling: { type: 'dynamic', factor: 2.5 }, vocabSize: 92553, tieWordEmbeddings: false });
    expect(il2.config.vision).toMatchObject({ normType: 'rms_norm', qkNormalization: true, qkvBias: false });
    expect(il2.generation.eosTokenIds).toEqual([92542, 92543]);
    expect(il2.info('language_model.model.layers.0.attention.wqkv.weight').shape).toEqual([(6 + 2 * 2) * 16, 96]);
    expect(il2.info('language_model.output.weight').shape).toEqual([92553, 96]);
    expect(il2.info('vision_model.encoder.layers.1.attn.q_norm.weight').shape).toEqual([80]);
    expect(il2.tensors.has('vision_model.encoder.layers.0.norm1.bias')).toBe(false);
    const q1b = Checkpoint.open(fresh('tiny-1b'));
    expect(q1b.config.llm).toMatchObject({ kind: 'qwen2', headDim: 64, tieWordEmbeddings: true });
    expect(q1b.tensors.has('language_model.lm_head.weight')).toBe(false);
  });

  it('reads tied or untied from the tensors, not the config flag', () => {
    const dir = fresh('tiny-1b');
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...cfg, llm_config: { ...cfg.llm_config, tie_word_embeddings: false } }));
    expect(Checkpoint.open(dir).config.llm.tieWordEmbeddings).toBe(true);
    expect(Checkpoint.open(fresh('tiny')).config.llm.tieWordEmbeddings).toBe(false);
  });

  it('refuses checkpoints that mix parts, naming the tensor or key', () => {
    const q = fresh('tiny-78b');
    const qcfg = JSON.parse(readFileSync(join(q, 'config.json'), 'utf8'));
    const il2 = fresh('tiny-26b');
    const il2cfg = JSON.parse(readFileSync(join(il2, 'config.json'), 'utf8'));
    const bad = mkdtempSync(join(tmpdir(), 'ck-mix-'));
    cpSync(q, bad, { recursive: true });
    // An InternLM2 llm_config over Qwen2 tensor names.
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...qcfg, llm_config: { ...il2cfg.llm_config, hidden_size: 64, num_hidden_layers: 10, num_attention_heads: 4, num_key_value_heads: 1, intermediate_size: 128 } }));
    expect(() => Checkpoint.open(bad)).toThrow(/llm_config describes InternLM2 but the weights hold language_model\.model\.embed_tokens\.weight \(expected language_model\.model\.tok_embeddings\.weight\)/);
    // A ViT config with qk_normalization over weights without q_norm (300M-style tensors).
    const v300 = fresh('tiny');
    const v300cfg = JSON.parse(readFileSync(join(v300, 'config.json'), 'utf8'));
    const bad2 = mkdtempSync(join(tmpdir(), 'ck-mix2-'));
    cpSync(v300, bad2, { recursive: true });
    writeFileSync(join(bad2, 'config.json'), JSON.stringify({ ...v300cfg, vision_config: { ...v300cfg.vision_config, qk_normalization: true } }));
    expect(() => Checkpoint.open(bad2)).toThrow(/vision_config has qk_normalization true but the weights have no vision_model\.encoder\.layers\.0\.attn\.q_norm\.weight/);
    writeFileSync(join(bad2, 'config.json'), JSON.stringify({ ...v300cfg, vision_config: { ...v300cfg.vision_config, norm_type: 'rms_norm' } }));
    expect(() => Checkpoint.open(bad2)).toThrow(/holds? vision_model\.encoder\.layers\.0\.norm1\.bias but vision_config's norm_type is rms_norm/);
    // 6B-style weights under a config that leaves qk_normalization out.
    const bad3 = mkdtempSync(join(tmpdir(), 'ck-mix3-'));
    cpSync(q, bad3, { recursive: true });
    writeFileSync(join(bad3, 'config.json'), JSON.stringify({ ...qcfg, vision_config: { ...qcfg.vision_config, qk_normalization: false } }));
    expect(() => Checkpoint.open(bad3)).toThrow(/hold vision_model\.encoder\.layers\.0\.attn\.q_norm\.weight but vision_config has no qk_normalization/);
    // An InternLM2 checkpoint without its sentencepiece model.
    const bad4 = mkdtempSync(join(tmpdir(), 'ck-mix4-'));
    cpSync(il2, bad4, { recursive: true });
    rmSync(join(bad4, 'tokenizer.model'));
    expect(() => Checkpoint.open(bad4)).toThrow(/needs tokenizer\.model/);
    writeFileSync(join(bad4, 'config.json'), JSON.stringify({ ...il2cfg, llm_config: { ...il2cfg.llm_config, rope_scaling: { type: 'yarn', factor: 4 } } }));
    expect(() => Checkpoint.open(bad4)).toThrow(/unsupported model: llm rope_scaling/);
  });

  it('has presets with the real dimensions of every size', () => {
    const params = (p: string) => {
      const c = parseModelConfig(publishedConfig(PRESETS[p], 'bfloat16'));
      return expectedTensors(c).reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0) / 1e9;
    };
    // Published totals (model cards): 0.94B, 2.2B, 3.7B, 8.1B, 25.5B, 38.4B, 78.4B.
    const expected: Record<string, number> = { '1b': 0.94, '2b': 2.2, '4b': 3.7, '8b': 8.1, '26b': 25.5, '38b': 38.4, '78b': 78.4 };
    for (const [p, b] of Object.entries(expected)) expect(Math.abs(params(p) - b) / b, p).toBeLessThan(0.03);
  });
});
