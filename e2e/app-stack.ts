import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, freePortRange } from "../scripts/services/free-port";
import { findSecrets, stackSecrets } from "../tests/security/secret-scan";

export type AppStack = { url: string; ftpPort: number; dataDir: string; child: ChildProcess; output: () => string; stop(): Promise<number | null> };

const root = path.resolve(import.meta.dirname, "..");

/** Runs `scripts/start.ts` (what `npm start` runs) in a fresh DATA_DIR on free ports and waits until it is ready. */
export async function startAppStack(extraEnv: Record<string, string> = {}, dataDir?: string, opts: { port?: number } = {}): Promise<AppStack> {
  const stack = await launchAppStack(extraEnv, dataDir, opts);
  const { child, stop, output } = stack;
  // A launcher that fails to start is stopped here, so a failed start never leaves services behind.
  const deadline = Date.now() + 280_000;
  while (!/\[tempoftp\]\S* ready: /.test(output())) {
    if (child.exitCode !== null) throw new Error(`the app exited during start-up:\n${output()}`);
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the app did not start within 280 s:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return stack;
}

/** Starts the launcher as `startAppStack` does, without waiting for it to be ready (to stop it at any moment). */
export async function launchAppStack(extraEnv: Record<string, string> = {}, dataDir?: string, opts: { port?: number } = {}): Promise<AppStack> {
  const dir = dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-stack-"));
  // A caller that must know the address first (e.g. to allow it as a storage CORS origin) passes the port.
  const [port, ftpPort] = [opts.port ?? (await freePort()), await freePort()];
  // Its own passive range too, so stacks started side by side (or beside other FTP tests) never collide.
  const pasv = await freePortRange(40);
  const url = `http://127.0.0.1:${port}`;
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(REDIS_URL|DATABASE_URL|S3_|ADMIN_|MASTER_KEY|AUTH_SECRET|PUBLIC_URL|PORT|FTP_)/.test(k)),
  );
  // node with tsx's loader, as the systemd units run it: the tsx CLI would stand between, relaying a SIGTERM to the
  // launcher and, when the launcher does not acknowledge it within 30 ms (a busy host), killing it outright (exit 143).
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/start.ts"], {
    cwd: root,
    env: { ...base, DATA_DIR: dir, PORT: String(port), PUBLIC_URL: url, FTP_PORT: String(ftpPort), FTP_PASV_PORTS: `${pasv.from}-${pasv.to}`, LOG_FORMAT: "json", ...extraEnv } as unknown as NodeJS.ProcessEnv,
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  let out = "";
  child.stdout!.on("data", (d) => (out += d.toString()));
  child.stderr!.on("data", (d) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));

  // Every stack's whole output is scanned for secrets when it stops (issue 13): a leak fails the test that ran it.
  const scan = () => {
    const read = (f: string) => (fs.existsSync(f) && fs.statSync(f).isFile() ? fs.readFileSync(f, "utf8") : undefined);
    const findings = findSecrets(out, stackSecrets({ ...extraEnv }, dir, read));
    if (findings.length) {
      throw new Error(`the app stack logged secrets:\n${findings.map((f) => `  line ${f.line}: ${f.what}: ${f.excerpt}`).join("\n")}`);
    }
  };
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    const code = await exited;
    scan();
    return code;
  };
  return {
    url,
    ftpPort,
    dataDir: dir,
    child,
    output: () => out,
    stop,
  };
}
