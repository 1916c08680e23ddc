/** A checkpoint directory that cannot be served, with the reason in words a user can act on. */
export class CheckpointError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckpointError';
  }
}
