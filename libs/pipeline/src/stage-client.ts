import * as grpc from '@grpc/grpc-js';
import { HealthReplyMsg } from './messages';
import { CHANNEL_OPTIONS, stageServiceClient } from './protos';

type Unary<Req, Res> = (req: Req, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res: Res) => void) => void;

/** Unary calls to a stage: Health (ring monitoring) and Release (freeing KV of finished sequences). */
export class StageClient {
  private readonly client: grpc.Client & Record<string, unknown>;

  constructor(readonly target: string) {
    const Ctor = stageServiceClient();
    this.client = new Ctor(target, grpc.credentials.createInsecure(), CHANNEL_OPTIONS) as grpc.Client & Record<string, unknown>;
  }

  private unary<Req, Res>(method: string, req: Req, timeoutMs: number): Promise<Res> {
    const fn = this.client[method] as Unary<Req, Res>;
    return new Promise((resolve, reject) => fn.call(this.client, req, { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res))));
  }

  health(timeoutMs = 1000): Promise<HealthReplyMsg> {
    return this.unary('Health', {}, timeoutMs);
  }

  async release(seqs: string[], timeoutMs = 2000): Promise<number> {
    const r = await this.unary<{ seqs: string[] }, { released: number }>('Release', { seqs }, timeoutMs);
    return r.released;
  }

  close(): void {
    this.client.close();
  }
}
