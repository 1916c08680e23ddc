import { cpus } from 'node:os';
import { BundleManifest, ensureBundleLocked } from '@ivl/compiler';
import { planCosts } from '@ivl/engine';
import { Plan, parsePlan } from '@ivl/plan';
import { IMG_CONTEXT_ID } from '@ivl/prompt';
import { StageEngineClient, StageEngineInfo } from '@ivl/runtime';
import { WorkerOptions } from './worker-options';

export interface StageSetup {
  bundleDir: string;
  manifest: BundleManifest;
  plan: Plan;
  engine: StageEngineClient;
  info: StageEngineInfo;
  modelId: string;
}

/** Resolves the bundle and the plan, and starts this stage's onnxruntime thread with only its own graphs. */
export async function setUpStage(o: WorkerOptions): Promise<StageSetup> {
  if (o.kvDtype !== undefined && o.kvDtype !== 'fp32' && o.kvDtype !== 'fp16') throw new Error(`--kv-dtype must be fp32 or fp16, got ${String(o.kvDtype)}`);
  const { dir, manifest } = await ensureBundleLocked(o.model, { dtype: o.dtype, cacheDir: o.cacheDir });
  const plan = parsePlan(o.plan, manifest.config.llm.numLayers, planCosts(manifest.config));
  if (plan.stages.length !== o.peers.length) throw new Error(`plan ${plan.name} has ${plan.stages.length} stages but ${o.peers.length} peer addresses were given`);
  if (!(o.stage >= 0 && o.stage < plan.stages.length)) throw new Error(`stage ${o.stage} is not in plan ${plan.name}`);
  const sp = plan.stages[o.stage];
  const { client, info } = await StageEngineClient.start({
    bundleDir: dir,
    ranges: sp.ranges,
    head: o.stage === 0,
    imageTokenId: IMG_CONTEXT_ID,
    session: { threads: o.threads ?? Math.max(1, cpus().length), device: o.device },
    kvBudgetBytes: o.kvBudgetMb * 1024 * 1024,
    kvType: o.kvDtype === 'fp16' ? 'float16' : o.kvDtype === 'fp32' ? 'float32' : undefined,
  });
  o.log(`stage ${o.stage}/${plan.stages.length} (${plan.name}): layers ${sp.ranges.map(([a, b]) => `[${a},${b})`).join(' + ') || 'none'}${o.stage === 0 ? ' + vision, embeddings, head' : ''}; ${manifest.dtype} on ${info.provider}; KV room for ${info.kvCapacityTokens} tokens`);
  return { bundleDir: dir, manifest, plan, engine: client, info, modelId: `${manifest.source.fingerprint}-${manifest.dtype}` };
}
