/** What every catalog activity returns to the interpreter: its output and the attempt that produced it. */
export interface ActivityResult {
  output: unknown;
  attempt: number;
}
