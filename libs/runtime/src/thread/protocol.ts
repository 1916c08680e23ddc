/** Messages between the main thread and the onnxruntime thread. */
export interface CallMessage {
  id: number;
  method: string;
  args: unknown[];
}

export type ReplyMessage = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: { name: string; message: string } };

/** The ArrayBuffers worth transferring (not copying) in a message: typed arrays that own their whole buffer. */
export function transferables(values: unknown[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  const visit = (v: unknown, depth: number) => {
    if (depth > 3 || v === null || typeof v !== 'object') return;
    if (ArrayBuffer.isView(v)) {
      const b = v.buffer;
      if (b instanceof ArrayBuffer && v.byteOffset === 0 && v.byteLength === b.byteLength && !out.includes(b)) out.push(b);
      return;
    }
    for (const x of Array.isArray(v) ? v : Object.values(v)) visit(x, depth + 1);
  };
  values.forEach((v) => visit(v, 0));
  return out;
}
