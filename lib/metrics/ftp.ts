import { Readable } from "node:stream";
import type { FtpBackend, FtpSession } from "../ftp/types";
import { metrics } from "./registry";

// The gateway's metrics at the backend boundary, so the FTP server itself stays untouched: logins by outcome,
// live sessions, transfers in progress and bytes sent (one add per transfer, nothing per chunk).

function instrumentSession(session: FtpSession): FtpSession {
  const m = metrics();
  m.ftpSessions.inc();
  let closed = false;
  return {
    ...session,
    async open(name, offset) {
      const stream = await session.open(name, offset);
      m.ftpActiveTransfers.inc();
      // The server destroys the source however the transfer ends (done, cut, never started).
      const release = once(() => m.ftpActiveTransfers.dec());
      if (!(stream instanceof Readable)) return wrapIterable(stream, release);
      stream.once("close", release);
      return stream;
    },
    onTransferEnd(info) {
      m.ftpBytesSent.inc(info.bytes);
      m.ftpTransfers.inc({ completed: String(info.completed) });
      session.onTransferEnd?.(info);
    },
    onClose() {
      if (!closed) m.ftpSessions.dec();
      closed = true;
      session.onClose?.();
    },
  };
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (!done) fn();
    done = true;
  };
}

async function* wrapIterable(source: AsyncIterable<Buffer>, release: () => void): AsyncIterable<Buffer> {
  try {
    yield* source;
  } finally {
    release();
  }
}

/** The same backend, counted. */
export function instrumentFtpBackend(backend: FtpBackend): FtpBackend {
  const m = metrics();
  return {
    ...backend,
    async login(user, pass, ip, secure) {
      const session = await backend.login(user, pass, ip, secure);
      // A refusal (an address the share does not allow) is no session: nothing to count but its login outcome.
      return session && !("refused" in session) ? instrumentSession(session) : session;
    },
    onLogin(event) {
      m.ftpLogins.inc({ outcome: event.outcome });
      return backend.onLogin?.(event);
    },
  };
}
