// How the FTP gateway process is launched (`npm start`, bench/ftp.ts): workers/ftp.ts bundled by esbuild into plain
// JavaScript and run by node without tsx. tsx costs each process ~45 MiB (its loader thread and esbuild), and the
// gateway runs as FTP_PROCESSES processes plus a cluster primary, all counted against one memory budget. Packages
// stay external (loaded from node_modules as before); each dynamic import is its own chunk, so the primary, which
// only forks, never loads the database, storage or Redis clients. Tests keep spawning workers/ftp.ts under tsx.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
/** Under node_modules so the bundle resolves packages as the sources do (the walk up skips node_modules itself). */
const outRoot = path.join(root, "node_modules", ".cache", "tempoftp");

/**
 * glibc's allocator for the gateway processes, unless the environment sets its own. Two arenas, not eight per core
 * (libuv's and V8's threads each got one, and each keeps its freed blocks). A fixed mmap threshold of 1 MiB: each
 * sign-in's scrypt (32 MiB, on libuv's threads) is mapped and unmapped again, where glibc's sliding threshold
 * moved to 32 MiB after the first one and kept up to 64 MiB of it in a thread's arena; buffers (64 and 128 KiB)
 * stay in the heap. Trimming the heap's top only past 8 MiB free, not 128 KiB: a transfer's buffers are not
 * given back and faulted in again at every turn.
 */
export const GATEWAY_MALLOC_ENV: Record<string, string> = {
  MALLOC_ARENA_MAX: "2",
  MALLOC_MMAP_THRESHOLD_: String(1024 * 1024),
  MALLOC_TRIM_THRESHOLD_: String(8 * 1024 * 1024),
};

/**
 * V8's young generation capped at 2 MiB semi-spaces (16 MiB by default): the gateway allocates few JS objects per
 * byte (the data is in Buffers outside V8's heap), so small semi-spaces cost little scavenging; each process's heap
 * stays ~30 MiB smaller, and the dead plaintext Buffers a scavenge finds are freed sooner. `--expose-gc` lets the
 * download path run a minor GC every 4 MiB of plaintext (lib/downloads/young-gc.ts).
 */
export const GATEWAY_NODE_ARGS = ["--max-semi-space-size=2", "--expose-gc"];

/** Bundles workers/ftp.ts (fresh at every start, about a second) and returns the entry to run with plain node. */
export async function buildGateway(): Promise<string> {
  const esbuild = await import("esbuild");
  const out = await esbuild.build({
    entryPoints: [path.join(root, "workers", "ftp.ts")],
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    // The entry lands at <dir>/workers/ftp.mjs: a process list still names workers/ftp.
    outbase: root,
    outdir: "/",
    outExtension: { ".js": ".mjs" },
    write: false,
    logLevel: "silent",
    absWorkingDir: root,
  });
  // Content-addressed: two starts in one tree (or a gateway still running an older build) never share a half-written folder.
  const hash = crypto.createHash("sha256");
  for (const f of out.outputFiles) hash.update(f.path).update(f.contents);
  const dir = path.join(outRoot, `ftp-gateway-${hash.digest("hex").slice(0, 16)}`);
  const entry = path.join(dir, "workers", "ftp.mjs");
  if (!fs.existsSync(entry)) {
    const tmp = `${dir}.tmp-${process.pid}`;
    fs.rmSync(tmp, { recursive: true, force: true });
    for (const f of out.outputFiles) {
      const file = path.join(tmp, path.relative("/", f.path));
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, f.contents);
    }
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another start wrote the same build first.
      fs.rmSync(tmp, { recursive: true, force: true });
      if (!fs.existsSync(entry)) throw err;
    }
  }
  pruneOldBuilds(dir);
  return entry;
}

/** Builds of other sources older than a day go (a gateway started from one has long loaded its chunks). */
function pruneOldBuilds(keep: string) {
  const dayAgo = Date.now() - 86_400_000;
  for (const name of fs.readdirSync(outRoot)) {
    const p = path.join(outRoot, name);
    if (p === keep || !name.startsWith("ftp-gateway-")) continue;
    try {
      if (fs.statSync(p).mtimeMs < dayAgo) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      // removed meanwhile
    }
  }
}

/**
 * The gateway's command and the environment it adds: the bundle under plain node, or (the bundle failing to build,
 * e.g. esbuild missing) workers/ftp.ts under tsx as before, with the reason in `fallback`.
 */
export async function gatewayCommand(nodeArgs: string[] = []): Promise<{ args: string[]; env: Record<string, string>; fallback?: string }> {
  const env = Object.fromEntries(Object.entries(GATEWAY_MALLOC_ENV).filter(([k]) => process.env[k] === undefined));
  try {
    return { args: [...GATEWAY_NODE_ARGS, ...nodeArgs, await buildGateway()], env };
  } catch (err) {
    return { args: [...GATEWAY_NODE_ARGS, ...nodeArgs, "--import", "tsx", path.join(root, "workers", "ftp.ts")], env, fallback: err instanceof Error ? err.message : String(err) };
  }
}
