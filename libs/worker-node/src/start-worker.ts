import { startDriver } from './driver/driver';
import { RunningStage, startMiddleStage } from './middle-stage';
import { setUpStage } from './stage-setup';
import { WorkerOptions } from './worker-options';

/** Starts one stage worker: the driver for stage 0, the relay for the others. */
export async function startWorker(o: WorkerOptions): Promise<RunningStage> {
  const s = await setUpStage(o);
  return o.stage === 0 ? startDriver(o, s) : startMiddleStage(o, s);
}
