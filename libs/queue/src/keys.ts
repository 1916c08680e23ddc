/** Redis keys of our own, beside BullMQ's `bull:<queue>:*`. */
export const keys = {
  blob: (hash: string) => `ivl:blob:${hash}`,
  blobRefs: (hash: string) => `ivl:blob:${hash}:refs`,
  tokens: (jobId: string) => `ivl:tokens:${jobId}`,
  streamOwner: (jobId: string) => `ivl:tokens:${jobId}:owner`,
  cancel: (jobId: string) => `ivl:cancel:${jobId}`,
  cancelChannel: 'ivl:cancel',
  pipelines: 'ivl:pipelines',
} as const;
