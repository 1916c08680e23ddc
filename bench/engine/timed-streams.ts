import { EventEmitter } from 'node:events';
import { Sequence } from '@ivl/engine-core';
import { GREEDY, SequenceDecoder } from '@ivl/generation';
import type { IvlTokenizer } from '@ivl/prompt';
import type { StageSetup } from '@ivl/worker-node';

/** Sequences whose token timestamps are recorded, and a way to wait until a condition on them holds. */
export class Streams {
  private readonly tick = new EventEmitter();
  constructor(
    private readonly s: StageSetup,
    private readonly tok: IvlTokenizer,
  ) {
    this.tick.setMaxListeners(100);
  }

  start(id: string, ids: number[], maxNewTokens: number, times: number[], imageRows?: Sequence['imageRows']): Sequence {
    const decoder = new SequenceDecoder(this.tok, ids, { params: { ...GREEDY, maxNewTokens, ignoreEos: true }, eosTokenIds: this.s.manifest.generation.eosTokenIds, seed: 0 });
    return new Sequence(id, ids, ids.length, decoder, imageRows, this.s.manifest.config.imageContextTokenId, this.s.info.hidden, () => {
      times.push(performance.now());
      this.tick.emit('step');
    });
  }

  until(ok: () => boolean): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (!ok()) return;
        this.tick.off('step', check);
        resolve();
      };
      this.tick.on('step', check);
      check();
    });
  }
}

