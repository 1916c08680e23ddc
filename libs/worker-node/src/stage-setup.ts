import { cpus } from 'node:os';
import { Checkpoint, ModelConfig } from '@ivl/checkpoint';
import { BundleManifest, ensureBundleLocked, isBundleDir, readManifest } from '@ivl/compiler';
import { planCosts } from '@ivl/requests';
import { Plan, PlanError, parsePlan } from '@ivl/plan';
import { StageModelClient, StageModelInfo } from '@ivl/runtime';
import { WorkerOptions, defaultVisionParts } from './worker-options';

export interface StageSetup {
  bundleDir: string;
  manifest: BundleManifest;
  plan: Plan;
  model: StageModelClient;
  info: StageModelInfo;
  modelId: string;
}

/** Resolves the bundle and the plan, and starts this stage's onnxruntime thread with only its own graphs. */
export async function setUpStage(o: WorkerOptions): Promise<StageSetup> {
  if (o.kvDtype !== undefined && o.kvDtype !== 'fp32' && o.kvDtype !== 'fp16') throw new RangeError(`--kv-dtype must be fp32 or fp16, got ${String(o.kvDtype)}`);
  if (o.visionParts !== undefined && !(Number.isInteger(o.visionParts) && o.visionParts >= 1)) throw new RangeError(`--vision-parts must be a whole number ≥ 1, got ${String(o.visionParts)}`);
  // The plan comes first so that a stage converts only its own share of a checkpoint (stage-local conversion).
  const config: ModelConfig = isBundleDir(o.model) ? readManifest(o.model).config : Checkpoint.open(o.model).config;
  const plan = parsePlan(o.plan, config.llm.numLayers, planCosts(config));
  if (plan.stages.length !== o.peers.length) throw new PlanError(`plan ${plan.name} has ${plan.stages.length} stages but ${o.peers.length} peer addresses were given`);
  if (!(o.stage >= 0 && o.stage < plan.stages.length)) throw new PlanError(`stage ${o.stage} is not in plan ${plan.name}`);
  const sp = plan.stages[o.stage];
  const parts = { vision: sp.vision, embed: sp.embed, head: sp.head, layers: sp.ranges };
  const { dir, manifest, converted } = await ensureBundleLocked(o.model, { dtype: o.dtype, cacheDir: o.cacheDir, parts });
  if (converted) o.log(`converted this stage's share: read ${(manifest.stats.bytesRead / 1e9).toFixed(3)} GB of the checkpoint, wrote ${(manifest.stats.bytesWritten / 1e9).toFixed(3)} GB`);
  const { client, info } = await StageModelClient.start({
    bundleDir: dir,
    ranges: sp.ranges,
    head: o.stage === 0,
    imageTokenId: manifest.config.imageContextTokenId,
    session: { threads: o.threads ?? Math.max(1, cpus().length), device: o.device },
    kvBudgetBytes: o.kvBudgetMb * 1024 * 1024,
    kvType: o.kvDtype === 'fp16' ? 'float16' : o.kvDtype === 'fp32' ? 'float32' : undefined,
    separatePrefillPass: o.separatePrefillPass,
    visionParts: o.stage === 0 ? (o.visionParts ?? defaultVisionParts(o.device)) : undefined,
  });
  o.log(`stage ${o.stage}/${plan.stages.length} (${plan.name}): layers ${sp.ranges.map(([a, b]) => `[${a},${b})`).join(' + ') || 'none'}${o.stage === 0 ? ' + vision, embeddings, head' : ''}; ${manifest.dtype} on ${info.provider}; KV room for ${info.kvCapacityTokens} tokens`);
  return { bundleDir: dir, manifest, plan, model: client, info, modelId: `${manifest.source.fingerprint}-${manifest.dtype}` };
}
