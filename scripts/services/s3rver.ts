import fs from "node:fs";
import path from "node:path";
import { spawnLogged, stopChild, waitFor } from "./child";
import { freePort } from "./free-port";

export type S3rverHandle = {
  name: "s3";
  endpoint: string;
  accessKeyId: "S3RVER";
  secretAccessKey: "S3RVER";
  /** The server's process (benchmarks count its CPU). */
  pid?: number;
  stop(): Promise<void>;
};

/** The embedded S3-compatible server (verifies SigV4), in a child process, data under dataDir/s3. */
export async function startS3rver(opts: {
  dataDir: string;
  port?: number;
  host?: string;
  corsOrigins: string[];
  buckets?: string[];
  verbose?: boolean;
}): Promise<S3rverHandle> {
  const host = opts.host ?? "127.0.0.1";
  const port = opts.port ?? (await freePort(host));
  const directory = path.join(opts.dataDir, "s3");
  fs.mkdirSync(directory, { recursive: true, mode: 0o700 });
  const logFile = path.join(opts.dataDir, "s3.log");
  const args = JSON.stringify({ host, port, directory, corsOrigins: opts.corsOrigins, buckets: opts.buckets ?? [], verbose: opts.verbose ?? false });
  const child = spawnLogged(process.execPath, ["--openssl-legacy-provider", path.join(import.meta.dirname, "s3rver-entry.cjs"), args], logFile);
  const endpoint = `http://${host}:${port}`;
  await waitFor("embedded S3 server", async () => (await fetch(endpoint)).status > 0, child, 30_000, logFile);
  return { name: "s3", endpoint, accessKeyId: "S3RVER", secretAccessKey: "S3RVER", pid: child.pid, stop: () => stopChild(child) };
}
