import { Plan, PlanError, stage, validatePlan } from './plan';

/**
 * The model card's `split_model` for G devices: device 0 gets half a share of layers (room for the vision
 * encoder), the others a full share each, filled in order, and then the last layer is moved to device 0
 * (reference §11). Layer names beyond the model that the card's map produces are ignored.
 */
export function cardPlan(devices: number, numLayers: number): Plan {
  if (!Number.isInteger(devices) || devices < 1) throw new PlanError(`card:${devices}: the device count must be a positive integer`);
  const per = Math.ceil(numLayers / (devices - 0.5));
  const counts = Array.from({ length: devices }, (_, i) => (i === 0 ? Math.ceil(per * 0.5) : per));
  const owner: number[] = [];
  counts.forEach((n, dev) => {
    for (let j = 0; j < n && owner.length < numLayers; j++) owner.push(dev);
  });
  owner[numLayers - 1] = 0;
  const ranges: Array<Array<[number, number]>> = Array.from({ length: devices }, () => []);
  for (let l = 0; l < numLayers; l++) {
    const rs = ranges[owner[l]];
    const last = rs[rs.length - 1];
    if (last && last[1] === l) last[1] = l + 1;
    else rs.push([l, l + 1]);
  }
  if (ranges[0].length === 1 && ranges[0][0][0] !== 0) ranges[0].unshift([0, 0]);
  ranges.forEach((rs, dev) => {
    if (dev > 0 && rs.length === 0) {
      throw new PlanError(`card:${devices} leaves device ${dev} without layers for a ${numLayers}-layer model; use fewer devices or balanced:${devices}`);
    }
  });
  return validatePlan({ name: `card:${devices}`, numLayers, stages: ranges.map((rs, i) => stage(i, rs)) });
}
