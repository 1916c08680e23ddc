/** Lines of the output and error files, in OpenAI's batch output format. */

export const lineJobId = (batchId: string, index: number) => `${batchId}-${index}`;

export function outputLine(jobId: string, customId: string, body: unknown): string {
  return JSON.stringify({ id: `batch_req_${jobId}`, custom_id: customId, response: { status_code: 200, request_id: jobId, body }, error: null });
}

/** A request that was answered with an error status (bad line, generation failure). */
export function errorResponseLine(jobId: string, customId: string, status: number, body: unknown): string {
  return JSON.stringify({ id: `batch_req_${jobId}`, custom_id: customId, response: { status_code: status, request_id: jobId, body }, error: null });
}

/** A request that never ran (the batch expired first). */
export function notRunLine(jobId: string, customId: string, code: string, message: string): string {
  return JSON.stringify({ id: `batch_req_${jobId}`, custom_id: customId, response: null, error: { code, message } });
}
