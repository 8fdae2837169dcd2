// Failures the CLI maps to exit codes: 2 bad usage (names the flag), 3 integrity (checksum, GCM tag,
// a data key Vault refuses to unwrap, an unsafe archive) or refused Google credentials, 1 anything else.
export class UsageError extends Error {
  override name = 'UsageError';
  readonly exitCode = 2;
  constructor(readonly flag: string, message: string) {
    super(`${flag}: ${message}`);
  }
}

export class IntegrityError extends Error {
  override name = 'IntegrityError';
  readonly exitCode = 3;
}

/** Vault / GCS / file-system failures with a message that says which peer and what to check. */
export class AgentError extends Error {
  override name = 'AgentError';
  readonly exitCode: number = 1;
}

/** The Google credential file is invalid, or its token exchange was refused: the same identity fails again. */
export class CredentialsError extends AgentError {
  override name = 'CredentialsError';
  override readonly exitCode: number = 3;
}

export function exitCodeOf(err: unknown): number {
  const code = (err as { exitCode?: unknown } | null)?.exitCode;
  return code === 2 || code === 3 ? code : 1;
}
