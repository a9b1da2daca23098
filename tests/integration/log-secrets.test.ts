import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, it } from "vitest";
import { findSecrets } from "../security/secret-scan";

// Issue 13: no secrets in logs. Runs a real flow (tests/security/log-flow.ts) in its own process against the
// test services with every log level on, collects everything it printed, and fails on any password, token,
// key, secret or presigned signature in it: the literal values the flow handled, and the shapes of secrets.
// The app stacks of the system and browser tests are scanned the same way when they stop (e2e/app-stack.ts).

const root = path.resolve(import.meta.dirname, "../..");

it("prints no secret in any log line of a full flow", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-logscan-"));
  const secretsFile = path.join(dir, "secrets.json");
  const child = spawn(path.join(root, "node_modules/.bin/tsx"), ["tests/security/log-flow.ts"], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: "trace", LOG_FORMAT: "json", SECRETS_OUT: secretsFile },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout.on("data", (d) => (out += d.toString()));
  child.stderr.on("data", (d) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  fs.writeFileSync(path.join(dir, "flow.log"), out);
  expect(code, out.slice(-3000)).toBe(0);

  const known = JSON.parse(fs.readFileSync(secretsFile, "utf8")) as string[];
  // The flow did handle secrets of every kind, and logged plenty: the scan below is not vacuous.
  expect(known.some((s) => s.startsWith("tft_"))).toBe(true);
  expect(known.some((s) => s.includes("X-Amz-Signature="))).toBe(true);
  expect(out.split("\n").filter((l) => l.startsWith("{")).length).toBeGreaterThan(10);

  const findings = findSecrets(out, known);
  expect(findings, `see ${path.join(dir, "flow.log")}`).toEqual([]);
  fs.rmSync(dir, { recursive: true, force: true });
}, 180_000);
