import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, freePortRange } from "../../scripts/services/free-port";
import { gatewayCommand } from "../../scripts/gateway-launch";
import { spawnNode, spawnNodeArgs, type Proc } from "../setup/spawn-node";

// The production gateway entry (workers/ftp.ts) as a child process on free ports. Imports nothing from lib/ (fault
// tests start it before lib/env may be read).

export type FtpCluster = Proc & { port: number; pasv: { from: number; to: number } };

/**
 * workers/ftp.ts with FTP_PROCESSES=`processes`, resolved once every process logged "ftp gateway listening".
 * `port` and `pasv` default to free ones (a restart passes the previous ones: the kernel frees a dead listener at once).
 */
export async function startFtpCluster(opts: {
  processes: number;
  pasvCount?: number;
  port?: number;
  pasv?: { from: number; to: number };
  env?: Record<string, string>;
  readyMs?: number;
  /** "bundle": as `npm start` launches it (scripts/gateway-launch.ts: bundled, without tsx, its allocator settings). */
  launch?: "tsx" | "bundle";
}): Promise<FtpCluster> {
  const port = opts.port ?? (await freePort());
  const pasv = opts.pasv ?? (await freePortRange(opts.pasvCount ?? 20));
  const env = {
    FTP_HOST: "127.0.0.1",
    FTP_PORT: String(port),
    FTP_PASV_PORTS: `${pasv.from}-${pasv.to}`,
    FTP_PROCESSES: String(opts.processes),
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-gateway-")),
    TEMPOFTP_PROCESS: "ftp",
    LOG_FORMAT: "json",
    ...opts.env,
  };
  const launch = opts.launch === "bundle" ? await gatewayCommand() : undefined;
  if (launch?.fallback) throw new Error(`the gateway bundle did not build: ${launch.fallback}`);
  const proc = launch ? spawnNodeArgs(launch.args, { ...launch.env, ...env }) : spawnNode("workers/ftp.ts", env);
  const ms = opts.readyMs ?? 240_000;
  const deadline = Date.now() + ms;
  while ((proc.output().match(/"msg":"ftp gateway listening"/g) ?? []).length < opts.processes) {
    if (Date.now() > deadline || proc.child.exitCode !== null || proc.child.signalCode !== null) {
      await proc.stop("SIGKILL");
      // Vitest shows an error's first line only: the gateway's last words go to stderr.
      console.error(`the gateway's ${opts.processes} process(es) did not start within ${ms / 1000} s; output:\n${proc.output().slice(-3000)}`);
      throw new Error(`the gateway's ${opts.processes} process(es) did not start within ${ms / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { ...proc, port, pasv };
}
