// The worker's Google Cloud identity, shared by the gcs.* / backup.* activities (GCS) and gcpkms.* (Cloud KMS):
// gcp/credentials.ts from GOOGLE_APPLICATION_CREDENTIALS, with its failures as ApplicationFailures that
// name the credential file (a refused or expired exchange is final, an unreachable token service retries).
import { ApplicationFailure } from '@temporalio/common';
import { GcpCredentialsError, processCredentials, type GcpCredentials } from '../gcp/credentials.ts';

export function credentialsFailure(err: unknown): unknown {
  if (!(err instanceof GcpCredentialsError)) return err;
  return ApplicationFailure.create({
    message: err.message,
    type: err.retryable ? 'GcpCredentialsUnavailable' : 'GcpCredentialsRefused',
    nonRetryable: !err.retryable,
  });
}

/** The worker's credentials (throws a classified failure if the file is unreadable or invalid). */
export function workerCredentials(env: NodeJS.ProcessEnv = process.env): GcpCredentials {
  try {
    return processCredentials(env);
  } catch (err) {
    throw credentialsFailure(err);
  }
}

/** The Authorization header of the worker's identity. */
export async function workerAuthHeaders(env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string>> {
  try {
    return await workerCredentials(env).headers();
  } catch (err) {
    throw credentialsFailure(err);
  }
}
