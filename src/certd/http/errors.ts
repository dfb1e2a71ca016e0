// The one error class of the HTTP layer: status, a stable numeric code for the body, and a
// one-line message. Front-ends throw it (or map their domain errors into it).
export class HttpError extends Error {
  constructor(readonly status: number, readonly code: number, message: string, readonly headers: Record<string, string | string[]> = {}) {
    super(message);
    this.name = 'HttpError';
  }
}
