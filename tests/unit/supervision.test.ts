import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Writable } from "node:stream";
import concurrently from "concurrently";
import { describe, expect, it } from "vitest";
import { ConfigError, parseEnv } from "../../lib/env";
import { passiveSlice } from "../../lib/ftp/cluster";
import { describeExit, GAVE_UP_EXIT_CODE, RestartPolicy } from "../../lib/supervise/restart-policy";
import { supervise } from "../../scripts/services/supervisor";

describe("restart policy", () => {
  it("backs off exponentially up to the cap, and starts over after a stable run", () => {
    const p = new RestartPolicy({ baseMs: 500, maxMs: 4000, stableMs: 30_000, maxCrashes: 100, windowMs: 60_000 });
    let t = 0;
    p.started(t);
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      t += 1000;
      const d = p.exited(t);
      if (!d.restart) throw new Error("gave up");
      delays.push(d.delayMs);
      t += d.delayMs;
      p.started(t);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
    // Up for 30 s: the next crash waits the base delay again.
    t += 30_000;
    expect(p.exited(t)).toMatchObject({ restart: true, delayMs: 500 });
  });

  it("gives up at the fifth exit within a minute, not when they are spread out", () => {
    const p = new RestartPolicy();
    let t = 0;
    for (let i = 1; i <= 4; i++) expect(p.exited((t += 1000))).toMatchObject({ restart: true, crashesInWindow: i });
    expect(p.exited((t += 1000))).toEqual({ restart: false, crashesInWindow: 5, reason: "it exited 5 times within 60 s" });

    const spread = new RestartPolicy();
    for (let i = 0; i < 20; i++) expect(spread.exited(i * 16_000).restart).toBe(true);
  });

  it("describes exits by code or signal", () => {
    expect(describeExit(1)).toBe("code 1");
    expect(describeExit(null, "SIGKILL")).toBe("signal SIGKILL");
    expect(describeExit("SIGTERM")).toBe("signal SIGTERM");
  });
});

describe("passive slices", () => {
  it("split the range into disjoint, contiguous slices that cover it", () => {
    for (const [from, to, n] of [[30000, 30099, 2], [30000, 30099, 3], [5, 11, 7], [100, 100, 1], [1, 1000, 16]] as const) {
      const slices = Array.from({ length: n }, (_, i) => passiveSlice({ from, to }, i, n));
      expect(slices[0]!.from).toBe(from);
      expect(slices.at(-1)!.to).toBe(to);
      for (let i = 1; i < n; i++) expect(slices[i]!.from).toBe(slices[i - 1]!.to + 1);
      const sizes = slices.map((s) => s.to - s.from + 1);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(Math.min(...sizes)).toBeGreaterThanOrEqual(1);
    }
    expect(passiveSlice({ from: 30000, to: 30099 }, 1, 2)).toEqual({ from: 30050, to: 30099 });
  });

  it("refuse more processes than ports and an index out of range", () => {
    expect(() => passiveSlice({ from: 1, to: 2 }, 0, 3)).toThrow(/cannot split 2 passive ports 3 ways/);
    expect(() => passiveSlice({ from: 1, to: 10 }, 2, 2)).toThrow(/not below 2/);
  });
});

describe("ROLES and FTP_PROCESSES", () => {
  it("default to every role and the number of cores (at most one per passive port)", () => {
    const e = parseEnv({});
    expect(e.ROLES).toEqual(["web", "worker", "ftp"]);
    expect(e.FTP_PROCESSES).toBe(Math.min(os.availableParallelism(), 100));
    expect(parseEnv({ FTP_PASV_PORTS: "40000-40000" }).FTP_PROCESSES).toBe(1);
    expect(e.FTP_PROCESS_INDEX).toBe(0);
  });

  it("read a comma-separated list in any order and case, in a fixed order", () => {
    expect(parseEnv({ ROLES: "ftp" }).ROLES).toEqual(["ftp"]);
    expect(parseEnv({ ROLES: " FTP , web" }).ROLES).toEqual(["web", "ftp"]);
    expect(parseEnv({ ROLES: "worker,worker" }).ROLES).toEqual(["worker"]);
    expect(parseEnv({ FTP_PROCESSES: "3" }).FTP_PROCESSES).toBe(3);
  });

  it("refuse bad values with a message naming the variable", () => {
    const message = (vars: Record<string, string>) => {
      try {
        parseEnv(vars);
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        return (err as Error).message;
      }
      throw new Error("accepted");
    };
    expect(message({ ROLES: "web,wrkr" })).toContain('ROLES="web,wrkr": unknown role "wrkr"; use web, worker and/or ftp, comma-separated');
    expect(message({ ROLES: "web,,ftp" })).toContain("ROLES=");
    expect(message({ ROLES: " " })).toContain("ROLES=");
    expect(message({ FTP_PROCESSES: "0" })).toContain('FTP_PROCESSES="0": must be at least 1');
    expect(message({ FTP_PROCESSES: "two" })).toContain("FTP_PROCESSES=");
    expect(message({ FTP_PROCESSES: "5", FTP_PASV_PORTS: "40000-40003" })).toContain(
      'FTP_PROCESSES="5": must be at most the number of passive ports (4 in FTP_PASV_PORTS)',
    );
  });
});

/** Runs `node -e script` under concurrently, supervised with short delays; resolves how it ended. */
function runSupervised(script: string, opts: { maxCrashes?: number; stopAfterMs?: number }) {
  const logs: string[] = [];
  const run = concurrently([{ name: "app", command: `exec ${JSON.stringify(process.execPath)} -e ${JSON.stringify(script)}` }], {
    killOthersOn: [],
    handleInput: false,
    outputStream: new Writable({ write: (_chunk, _enc, cb) => cb() }),
  });
  run.result.catch(() => undefined);
  let stopping = false;
  return new Promise<{ gaveUp?: string; logs: string[] }>((resolve) => {
    const sup = supervise(
      run.commands,
      {
        stopping: () => stopping,
        log: (m) => logs.push(m),
        giveUp: (m) => {
          stopping = true;
          sup.stop();
          resolve({ gaveUp: m, logs });
        },
      },
      { baseMs: 50, maxMs: 200, stableMs: 60_000, maxCrashes: opts.maxCrashes ?? 5, windowMs: 60_000 },
    );
    if (opts.stopAfterMs) {
      setTimeout(() => {
        stopping = true;
        sup.stop();
        for (const c of run.commands) c.kill("SIGKILL");
        resolve({ logs });
      }, opts.stopAfterMs);
    }
  });
}

describe("the launcher's supervisor (real processes)", () => {
  it("restarts a process that crashed, logging how it ended, and it keeps running", async () => {
    const marker = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "sup-")), "crashed");
    // Crashes once (SIGKILL, as the OOM killer would), then runs.
    const script = `const fs=require("fs");if(!fs.existsSync(${JSON.stringify(marker)})){fs.writeFileSync(${JSON.stringify(marker)},"");process.kill(process.pid,"SIGKILL")}setInterval(()=>{},1000)`;
    const { gaveUp, logs } = await runSupervised(script, { stopAfterMs: 4000 });
    expect(gaveUp).toBeUndefined();
    expect(logs[0]).toMatch(/^app exited unexpectedly \(signal SIGKILL\); restarting in 0\.1 s \(exit 1 within a minute\)$/);
    expect(logs).toEqual([logs[0], "app restarted"]);
  }, 30_000);

  it("stops everything, naming the process and why, when it keeps crashing", async () => {
    const { gaveUp, logs } = await runSupervised("process.exit(3)", {});
    expect(gaveUp).toBe("app keeps crashing: it exited 5 times within 60 s (last: code 3); stopping everything");
    expect(logs.filter((l) => l === "app restarted")).toHaveLength(4);
    expect(logs.filter((l) => l.startsWith("app exited unexpectedly (code 3)"))).toHaveLength(4);
  }, 30_000);

  it("stops everything at once when a supervised supervisor gave up (the gateway's cluster primary)", async () => {
    const { gaveUp, logs } = await runSupervised(`process.exit(${GAVE_UP_EXIT_CODE})`, {});
    expect(gaveUp).toMatch(/^app stopped because a process it supervises keeps crashing/);
    expect(logs).toEqual([]);
  }, 30_000);
});
