// Progress and errors go to stderr, one JSON object per line; stdout is kept for the result line.
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
}

export const stderrLogger: Logger = {
  info: (event, fields) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'info', event, ...fields })}\n`),
  error: (event, fields) => process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), level: 'error', event, ...fields })}\n`),
};

export const silentLogger: Logger = { info: () => undefined, error: () => undefined };
