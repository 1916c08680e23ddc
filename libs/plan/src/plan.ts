/** A half-open range of decoder layers [from, to). */
export type LayerRange = [number, number];

export interface StagePlan {
  stage: number;
  /**
   * Layer ranges held by this stage. Stage 0 may hold two: the first layers, run before the ring, and the last
   * layers, run when the hidden state comes back (the model card gives device 0 the last layer).
   */
  ranges: LayerRange[];
  /** Stage 0 only: vision encoder, embeddings, final norm, lm_head and sampling. */
  vision: boolean;
  embed: boolean;
  head: boolean;
}

/** Which stage holds which layers. Pure data (JSON), consumed by workers and the in-process runner alike. */
export interface Plan {
  name: string;
  numLayers: number;
  stages: StagePlan[];
}

export class PlanError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanError';
  }
}

/** One hop of a forward pass: a stage running one of its layer ranges. */
export interface RingStep {
  stage: number;
  range: LayerRange;
}

/**
 * The order in which a token's hidden state visits the ranges: stage 0's first range, then stages 1..N-1, then
 * stage 0's second range. Empty ranges are skipped.
 */
export function ringOrder(plan: Plan): RingStep[] {
  const [s0, ...rest] = plan.stages;
  const steps: RingStep[] = [];
  const push = (stage: number, r: LayerRange | undefined) => {
    if (r && r[1] > r[0]) steps.push({ stage, range: r });
  };
  push(0, s0.ranges[0]);
  for (const s of rest) for (const r of s.ranges) push(s.stage, r);
  push(0, s0.ranges[1]);
  return steps;
}

/** Checks that the ring covers every layer exactly once, in order, and that only stage 0 holds the extras. */
export function validatePlan(plan: Plan): Plan {
  if (!plan.stages.length) throw new PlanError('a plan needs at least one stage');
  plan.stages.forEach((s, i) => {
    if (s.stage !== i) throw new PlanError(`stage ${i} is numbered ${s.stage}`);
    if (i > 0 && (s.vision || s.embed || s.head)) throw new PlanError('only stage 0 may hold vision, embeddings and the head');
    if (i > 0 && s.ranges.length !== 1) throw new PlanError(`stage ${i} must hold exactly one contiguous layer range`);
    if (i > 0 && s.ranges[0][1] <= s.ranges[0][0]) throw new PlanError(`stage ${i} holds no layers`);
    if (s.ranges.length > 2) throw new PlanError(`stage ${i} holds more than two ranges`);
    for (const [a, b] of s.ranges) if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= a)) throw new PlanError(`stage ${i}: bad range [${a}, ${b})`);
  });
  const s0 = plan.stages[0];
  if (!s0.vision || !s0.embed || !s0.head) throw new PlanError('stage 0 must hold vision, embeddings and the head');
  let next = 0;
  for (const step of ringOrder(plan)) {
    if (step.range[0] !== next) throw new PlanError(`layers are not covered in order: stage ${step.stage} starts at ${step.range[0]}, expected ${next}`);
    next = step.range[1];
  }
  if (next !== plan.numLayers) throw new PlanError(`the plan covers layers [0, ${next}) but the model has ${plan.numLayers}`);
  return plan;
}

export function stage(stageIndex: number, ranges: LayerRange[]): StagePlan {
  const first = stageIndex === 0;
  return { stage: stageIndex, ranges, vision: first, embed: first, head: first };
}
