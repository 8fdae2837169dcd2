// Errors that end the CLI, each with its exit code:
// 0 ok; 1 the thing failed; 2 usage; 3 auth (401/403); 4 not found; 5 conflict (409/410); 6 server/network.
export const EXIT = { ok: 0, failed: 1, usage: 2, auth: 3, notFound: 4, conflict: 5, server: 6, interrupted: 130 } as const;

export interface FieldError {
  field: string;
  message: string;
}

/** An RFC 9457 problem body as the API sends it (`api/problem.ts`), plus whatever else it carries. */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: (FieldError & Record<string, unknown>)[];
  [key: string]: unknown;
}

/** A failed HTTP call: status 0 when the API could not be reached. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problem?: Problem,
  ) {
    super(message);
  }

  get exitCode(): number {
    const s = this.status;
    if (s === 401 || s === 403) return EXIT.auth;
    if (s === 404) return EXIT.notFound;
    if (s === 409 || s === 410) return EXIT.conflict;
    if (s === 400) return EXIT.usage;
    if (s === 422) return EXIT.failed;
    return EXIT.server;
  }
}

/** Bad flags or arguments found after commander's own checks. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage;
}

/** Ends the CLI with `code`, after the command printed what it had to say. */
export class Exit extends Error {
  constructor(readonly exitCode: number) {
    super(`exit ${exitCode}`);
  }
}
