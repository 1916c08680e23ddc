import { describe, expect, it } from 'vitest';
import { cpSync, mkdtempSync, readFileSync, writeFileSync, truncateSync, statSync, rmSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeModel } from './make-model/make-model';
import { Checkpoint } from './checkpoint';
import { expectedTensors } from './tensor-names';

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
    writeFileSync(join(bad, 'config.json'), JSON.stringify({ ...cfg, llm_config: { ...cfg.llm_config, architectures: ['InternLM2ForCausalLM'], model_type: 'internlm2' } }));
    expect(() => Checkpoint.open(bad)).toThrow(/unsupported model: language model InternLM2ForCausalLM\. Supported: InternVLChatModel/);
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
