/** A request that cannot be served as given (too many images, too long, mismatched placeholders). */
export class RequestError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'RequestError';
  }
}
