// Runs before `npm start` and `npm test` with nothing but Node: installs dependencies on a fresh clone,
// generates the Prisma client, and (for tests) the Debian packages the test suite drives.
import { execFileSync, spawnSync } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..");
const forTests = process.argv.includes("--test");
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: "inherit", ...opts });

const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`tempoftp needs Node.js 20.19 or newer; this is ${process.versions.node}`);
  process.exit(1);
}

// npm ci when node_modules is missing or older than the lockfile.
const lock = path.join(root, "package-lock.json");
const stamp = path.join(root, "node_modules", ".package-lock.json");
if (!fs.existsSync(stamp) || fs.statSync(stamp).mtimeMs < fs.statSync(lock).mtimeMs) {
  console.log("[setup] installing npm dependencies…");
  run("npm", ["ci", "--no-audit", "--no-fund", "--loglevel=error"]);
}

// Prisma's CLI wants a native schema engine it cannot download here; generate needs only a path that exists.
const schema = path.join(root, "prisma", "schema.prisma");
const generated = path.join(root, "lib", "generated", "prisma");
const hashFile = path.join(generated, ".schema-hash");
const schemaHash = crypto.createHash("sha256").update(fs.readFileSync(schema)).digest("hex");
if (!fs.existsSync(hashFile) || fs.readFileSync(hashFile, "utf8") !== schemaHash) {
  console.log("[setup] generating the Prisma client…");
  run("npx", ["prisma", "generate"], {
    env: { ...process.env, PRISMA_SCHEMA_ENGINE_BINARY: process.execPath, PRISMA_HIDE_UPDATE_MESSAGE: "1" },
    stdio: ["ignore", "ignore", "inherit"],
  });
  fs.writeFileSync(hashFile, schemaHash);
}

if (forTests) {
  // Real clients and servers the tests drive: all from Debian's packages.
  const need = [
    ["chromium", "chromium"],
    ["redis-server", "redis-server"],
    ["curl", "curl"],
    ["lftp", "lftp"],
    // The FTP tests drive Debian's Python (its ftplib), not whatever python3 comes first on PATH.
    ["/usr/bin/python3", "python3"],
    ["memcached", "memcached"],
    // OpenStack Swift: the real S3 API the conformance, upload and processing tests also run against.
    ["swift-proxy-server", "swift-proxy"],
    ["swift-account-server", "swift-account"],
    ["swift-container-server", "swift-container"],
    ["swift-object-server", "swift-object"],
  ].filter(([cmd]) => spawnSync("sh", ["-c", `command -v ${cmd}`]).status !== 0);
  if (!fs.existsSync("/usr/lib/postgresql")) need.push(["postgres", "postgresql"]);
  if (need.length) {
    const pkgs = need.map(([, pkg]) => pkg);
    if (process.getuid?.() !== 0) {
      console.error(`Tests need: sudo apt-get install -y ${pkgs.join(" ")}`);
      process.exit(1);
    }
    console.log(`[setup] installing ${pkgs.join(" ")}…`);
    const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
    run("apt-get", ["update", "-qq"], { env });
    run("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...pkgs], { env });
  }
}
