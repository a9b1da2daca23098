import { createShareBackend, redisLoginLimiter, type BackendOptions } from "@/lib/downloads/ftp-backend";
import type { FtpServerOptions } from "@/lib/ftp";
import { startFtp, type Started } from "./harness";

/**
 * The gateway in this test process over the real share store (credentials from seal, files from the vault, the
 * Redis login throttle), as workers/ftp.ts builds it, on free ports. Options override the test defaults.
 */
export function startShareGateway(opts: Partial<FtpServerOptions> & { pasvCount?: number; shareBackend?: Partial<BackendOptions> } = {}): Promise<Started> {
  const { shareBackend, ...rest } = opts;
  return startFtp(createShareBackend(shareBackend), { limiter: redisLoginLimiter, ...rest });
}
