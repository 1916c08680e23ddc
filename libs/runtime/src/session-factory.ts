import * as ort from 'onnxruntime-node';

export interface SessionOptions {
  /** Intra-op threads; set to the cores this process may use. */
  threads?: number;
  /** 'cpu' or 'cuda:N'. CUDA is used when onnxruntime's CUDA provider libraries load, otherwise CPU. */
  device?: string;
  /** Keep fp32 weights file-backed instead of repacking them into RAM (halves memory, same decode speed). */
  disablePrepacking?: boolean;
  log?: (msg: string) => void;
}

export interface CreatedSession {
  session: ort.InferenceSession;
  provider: 'cpu' | 'cuda';
}

/** Creates a session, falling back from CUDA to CPU with the reason logged, never silently. */
export async function createSession(path: string, opts: SessionOptions = {}): Promise<CreatedSession> {
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: opts.threads ?? 0,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    extra: opts.disablePrepacking ? { session: { disable_prepacking: '1' } } : {},
  };
  const device = opts.device ?? 'cpu';
  if (device.startsWith('cuda')) {
    const deviceId = Number(device.split(':')[1] ?? 0);
    try {
      const session = await ort.InferenceSession.create(path, { ...base, executionProviders: [{ name: 'cuda', deviceId }, 'cpu'] });
      return { session, provider: 'cuda' };
    } catch (e) {
      opts.log?.(`CUDA execution provider unavailable on ${device} (${(e as Error).message.split('\n')[0]}); using CPU`);
    }
  }
  const session = await ort.InferenceSession.create(path, { ...base, executionProviders: ['cpu'] });
  return { session, provider: 'cpu' };
}
