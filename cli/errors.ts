// Exit codes scripts can branch on (gh/rclone style): each failure class has its own.
export const EXIT = { ok: 0, failure: 1, usage: 2, auth: 3, refused: 4, network: 5, interrupted: 130 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** A failure the CLI reports with one message and a known exit code; `code` is the server's error code when it sent one. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    readonly code?: string,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export const usage = (message: string) => new CliError(EXIT.usage, message);

/** Ctrl-C: thrown where work stops, so the command can say how to continue before exiting 130. */
export class Interrupted extends Error {
  constructor() {
    super("interrupted");
    this.name = "Interrupted";
  }
}
