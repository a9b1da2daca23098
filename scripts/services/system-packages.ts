import { execFileSync, spawnSync } from "node:child_process";

// Installs Debian packages the embedded stack needs, once, when we may (root); otherwise says how.
let updated = false;
const APT_LOCK = "/tmp/tempoftp-apt.lock";

export function hasCommand(cmd: string): boolean {
  return spawnSync("sh", ["-c", `command -v ${cmd}`], { stdio: "ignore" }).status === 0;
}

export function ensurePackages(packages: string[], probe: () => boolean, what: string): void {
  if (probe()) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot) {
    throw new Error(`${what} is not installed. Install it with: sudo apt-get install -y ${packages.join(" ")}`);
  }
  console.log(`[setup] installing ${packages.join(" ")} from Debian's packages…`);
  const aptEnv = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  // Test files start services in parallel processes: one apt run at a time (flock), the others wait for it.
  const apt = (args: string[]) => execFileSync("flock", [APT_LOCK, "apt-get", ...args], { stdio: "inherit", env: aptEnv });
  if (!updated) {
    apt(["update", "-qq"]);
    updated = true;
  }
  if (probe()) return;
  apt(["install", "-y", "-qq", "--no-install-recommends", ...packages]);
  if (!probe()) throw new Error(`${what} still not available after installing ${packages.join(" ")}`);
}
