import { spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CLI_BIN, cliEnv, runCli } from "../cli/run-cli";

// The CLI's refusals that need no server: every bad argument exits 2 with a message naming it, before anything
// is sent (the URL points at a closed port: a request would exit 5, not 2). Auth and network failures too.

const TIMEOUT = 120_000;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-cli-usage-"));
const file = path.join(dir, "a.bin");
fs.writeFileSync(file, "hello");
fs.mkdirSync(path.join(dir, "empty"));
fs.mkdirSync(path.join(dir, "twins/x"), { recursive: true });
fs.writeFileSync(path.join(dir, "twins/a.bin"), "1");
fs.writeFileSync(path.join(dir, "twins/x/a.bin"), "2");
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const closedPort = () =>
  new Promise<number>((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });

const ID = "0b6e9c3a-5d1f-4c2e-9a7b-1f2e3d4c5b6a";
const TOKEN = `tft_${"a".repeat(43)}`;

describe.concurrent("tempoftp: bad arguments exit 2 with a specific message", async () => {
  const env = cliEnv({ TEMPOFTP_URL: `http://127.0.0.1:${await closedPort()}`, TEMPOFTP_TOKEN: TOKEN });
  const cases: [string, string[], RegExp][] = [
    ["share without a subcommand", ["share"], /Usage: tempoftp share/],
    ["an unknown command", ["bogus"], /unknown command 'bogus'/],
    ["an unknown option", ["share", "list", "--colour"], /unknown option '--colour'/],
    ["create without files", ["share", "create"], /missing required argument 'paths'/],
    ["a missing file", ["share", "create", path.join(dir, "nope.bin")], /nope\.bin: no such file or directory/],
    ["an empty directory", ["share", "create", path.join(dir, "empty")], /the directory holds no files/],
    ["two files with one name", ["share", "create", path.join(dir, "twins")], /Two files would be named "a\.bin"/],
    ["a device instead of a file", ["share", "create", "/dev/null"], /\/dev\/null: not a regular file/],
    ["an expiry that is no duration", ["share", "create", "--expires", "tomorrow", file], /--expires "tomorrow" is not a duration/],
    ["an expiry under a minute", ["share", "create", "--expires", "30s", file], /--expires "30s" is too short/],
    ["a zero download limit", ["share", "create", "--max-downloads", "0", file], /--max-downloads "0" must be a whole number from 1/],
    ["a fractional download limit", ["share", "create", "--max-downloads", "2.5", file], /--max-downloads "2\.5" must be a whole number/],
    ["an address that is no CIDR", ["share", "create", "--allow-ip", "10.0.0.0/33", file], /--allow-ip "10\.0\.0\.0\/33" is not an IP address or CIDR range/],
    ["a host name as address", ["share", "create", "--allow-ip", "example.com", file], /--allow-ip "example\.com" is not an IP address/],
    ["a concurrency of 0", ["share", "create", "--concurrency", "0", file], /--concurrency "0" must be a whole number from 1 to 64/],
    ["a resume id that is no id", ["share", "create", "--resume", "last", file], /"last" is not a share id/],
    ["a share id that is no id", ["share", "show", "42"], /"42" is not a share id/],
    ["a status that does not exist", ["share", "list", "--status", "done"], /argument 'done' is invalid. Allowed choices are active, all/],
    ["extend without a duration", ["share", "extend", ID], /missing required argument 'duration'/],
    ["extend by a bad duration", ["share", "extend", ID, "2 days"], /duration "2 days" is not a duration/],
    ["revoke without --yes off a terminal", ["share", "revoke", ID], /pass --yes to confirm/],
    ["events for no id", ["share", "events"], /missing required argument 'id'/],
    ["login off a terminal without --token-stdin", ["login"], /pipe it in with --token-stdin/],
    ["login with a URL that is none", ["login", "--url", "files.example.com", "--token-stdin"], /--url "files\.example\.com" is not a URL/],
    ["login with an ftp URL", ["login", "--url", "ftp://files.example.com", "--token-stdin"], /must start with http:\/\/ or https:\/\//],
  ];
  for (const [what, args, message] of cases) {
    it(what, async () => {
      const r = await runCli(args, env);
      expect(r.stderr).toMatch(message);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
    }, TIMEOUT);
  }

  it("an empty token on stdin", async () => {
    const r = await runCli(["login", "--token-stdin"], env, "\n");
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/The token is empty/)]);
  }, TIMEOUT);

  it("a TEMPOFTP_URL that is no URL", async () => {
    const r = await runCli(["share", "list"], { ...env, TEMPOFTP_URL: "not a url" });
    expect([r.code, r.stderr]).toEqual([2, expect.stringMatching(/TEMPOFTP_URL "not a url" is not a URL/)]);
  }, TIMEOUT);
});

describe("tempoftp: help, version, authentication and network", async () => {
  const url = `http://127.0.0.1:${await closedPort()}`;

  it("--help on every command shows examples and exits 0; --version prints the package's", async () => {
    const version = JSON.parse(fs.readFileSync(path.resolve(import.meta.dirname, "../../package.json"), "utf8")).version;
    const v = await runCli(["--version"], cliEnv());
    expect([v.code, v.stdout.trim()]).toEqual([0, version]);
    for (const cmd of [[], ["login"], ["share", "create"], ["share", "list"], ["share", "show"], ["share", "wait"], ["share", "extend"], ["share", "revoke"], ["share", "events"]]) {
      const r = await runCli([...cmd, "--help"], cliEnv());
      expect(r.code, cmd.join(" ")).toBe(0);
      expect(r.stdout, cmd.join(" ")).toMatch(/Examples:\n {2}\$ tempoftp /);
    }
  }, 300_000);

  it("no token anywhere: exit 3, saying how to log in", async () => {
    const r = await runCli(["share", "list"], cliEnv({ TEMPOFTP_URL: url }));
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`Not logged in: run "tempoftp login --url ${url}" or set TEMPOFTP_TOKEN`);
  }, TIMEOUT);

  it("a server that cannot be reached: exit 5, naming it", async () => {
    const r = await runCli(["share", "list"], cliEnv({ TEMPOFTP_URL: url, TEMPOFTP_TOKEN: TOKEN }));
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(new RegExp(`Cannot reach ${url.replaceAll(".", "\\.")}: ECONNREFUSED`));
  }, TIMEOUT);

  it("a config file that is not JSON: a message naming the file", async () => {
    const env = cliEnv({ TEMPOFTP_URL: url });
    fs.mkdirSync(path.join(env.XDG_CONFIG_HOME!, "tempoftp"), { recursive: true });
    fs.writeFileSync(path.join(env.XDG_CONFIG_HOME!, "tempoftp", "config.json"), "{ nope");
    const r = await runCli(["share", "list"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/config\.json is not valid JSON/);
  }, TIMEOUT);
});

describe("tempoftp runs without the web app", () => {
  it("from a copy holding only cli/, lib/format.ts, lib/uploads/part-batches.ts and the CLI's dependencies (no Next, Prisma, AWS SDK, ioredis)", async () => {
    const root = path.resolve(import.meta.dirname, "../..");
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), "tempoftp-cli-alone-"));
    try {
      fs.cpSync(path.join(root, "cli"), path.join(copy, "cli"), { recursive: true });
      // The only runtime imports from lib/ (the rest are types): both import nothing themselves.
      fs.mkdirSync(path.join(copy, "lib/uploads"), { recursive: true });
      for (const file of ["lib/format.ts", "lib/uploads/part-batches.ts"]) fs.copyFileSync(path.join(root, file), path.join(copy, file));
      fs.copyFileSync(path.join(root, "package.json"), path.join(copy, "package.json"));
      fs.mkdirSync(path.join(copy, "node_modules"));
      for (const dep of ["commander", "cli-progress", "tsx"]) fs.symlinkSync(path.join(root, "node_modules", dep), path.join(copy, "node_modules", dep));
      const bin = path.join(copy, path.relative(root, CLI_BIN));
      const help = spawnSync(process.execPath, [bin, "share", "create", "--help"], { encoding: "utf8", env: cliEnv() });
      expect([help.status, help.stderr]).toEqual([0, ""]);
      expect(help.stdout).toContain("Usage: tempoftp share create");
      // A command that gets as far as a request loads every module of its path.
      const r = spawnSync(process.execPath, [bin, "share", "list"], { encoding: "utf8", env: cliEnv({ TEMPOFTP_URL: "http://127.0.0.1:9", TEMPOFTP_TOKEN: TOKEN }) });
      expect([r.status, r.stderr]).toEqual([5, expect.stringContaining("Cannot reach http://127.0.0.1:9")]);
    } finally {
      fs.rmSync(copy, { recursive: true, force: true });
    }
  }, TIMEOUT);
});
