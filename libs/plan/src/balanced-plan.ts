import { Plan, PlanError, stage, validatePlan } from './plan';

/** Relative costs used to balance stages, in parameters touched per token. */
export interface StageCosts {
  perLayer: number;
  /** Vision encoder + projector, embedding lookup, final norm and lm_head: all on stage 0. */
  stageZeroExtra: number;
}

/**
 * Splits layers so that every stage carries about the same estimated cost, with stage 0's fixed extras (vision,
 * head) counted against it. Stage 0 takes the first layers; the ring then runs through stages 1..G-1 and returns
 * to stage 0 only for the head.
 */
export function balancedPlan(devices: number, numLayers: number, costs: StageCosts): Plan {
  if (!Number.isInteger(devices) || devices < 1) throw new PlanError(`balanced:${devices}: the device count must be a positive integer`);
  if (devices > numLayers + 1) throw new PlanError(`balanced:${devices}: a ${numLayers}-layer model has too few layers for ${devices} stages`);
  if (devices === 1) return validatePlan({ name: 'balanced:1', numLayers, stages: [stage(0, [[0, numLayers]])] });
  const total = numLayers * costs.perLayer + costs.stageZeroExtra;
  const share = total / devices;
  const maxFirst = numLayers - (devices - 1);
  const first = Math.max(0, Math.min(maxFirst, Math.round((share - costs.stageZeroExtra) / costs.perLayer)));
  const rest = numLayers - first;
  const base = Math.floor(rest / (devices - 1));
  const extra = rest % (devices - 1);
  const stages = [stage(0, [[0, first]])];
  let at = first;
  for (let i = 1; i < devices; i++) {
    const n = base + (i <= extra ? 1 : 0);
    stages.push(stage(i, [[at, at + n]]));
    at += n;
  }
  return validatePlan({ name: `balanced:${devices}`, numLayers, stages });
}
