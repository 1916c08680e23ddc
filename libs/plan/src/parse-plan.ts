import { balancedPlan, StageCosts } from './balanced-plan';
import { cardPlan } from './card-plan';
import { LayerRange, Plan, PlanError, stage, validatePlan } from './plan';

export const PLAN_SYNTAX = 'card:G, balanced:G, ranges:A-B[+C-D],E-F,... (stage 0 first; half-open layer ranges), or a JSON plan';

/**
 * Parses a plan argument: `card:G`, `balanced:G`, explicit `ranges:0-12+35-36,12-35` (stages separated by
 * commas, stage 0's two ranges joined by '+'), or a plan object as JSON text.
 */
export function parsePlan(spec: string, numLayers: number, costs: StageCosts): Plan {
  const s = spec.trim();
  if (s.startsWith('{')) {
    let p: Plan;
    try {
      p = JSON.parse(s);
    } catch {
      throw new PlanError('the plan is not valid JSON');
    }
    if (p.numLayers !== numLayers) throw new PlanError(`the plan is for ${p.numLayers} layers but the model has ${numLayers}`);
    return validatePlan(p);
  }
  const m = /^(card|balanced):(\d+)$/.exec(s);
  if (m) return m[1] === 'card' ? cardPlan(Number(m[2]), numLayers) : balancedPlan(Number(m[2]), numLayers, costs);
  if (s.startsWith('ranges:')) {
    const stages = s
      .slice(7)
      .split(',')
      .map((part, i) =>
        stage(
          i,
          part.split('+').map((r): LayerRange => {
            const mm = /^(\d+)-(\d+)$/.exec(r.trim());
            if (!mm) throw new PlanError(`bad range "${r}" in plan (expected A-B)`);
            return [Number(mm[1]), Number(mm[2])];
          }),
        ),
      );
    return validatePlan({ name: s, numLayers, stages });
  }
  throw new PlanError(`unknown plan "${spec}"; expected ${PLAN_SYNTAX}`);
}
