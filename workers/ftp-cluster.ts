import cluster, { type Worker } from "node:cluster";
import type { Logger } from "../lib/log";
import { describeExit, GAVE_UP_EXIT_CODE, RestartPolicy } from "../lib/supervise/restart-policy";

// The gateway's cluster primary (FTP_PROCESSES > 1): forks one gateway process per slot, each told its index in
// FTP_PROCESS_INDEX (its passive slice, its metrics port); they share the control port through node's cluster.
// A process that exits unexpectedly is forked again with backoff while the others keep serving; one that keeps
// crashing stops the gateway with GAVE_UP_EXIT_CODE, which stops the launcher too. It opens no connection itself.

const STOP_GRACE_MS = 10_000;

export function runGatewayPrimary(count: number, log: Logger): void {
  const workers = new Map<number, Worker>();
  const policies = Array.from({ length: count }, () => new RestartPolicy());
  let stopping = false;

  const fork = (index: number) => {
    const w = cluster.fork({ FTP_PROCESS_INDEX: String(index) });
    workers.set(index, w);
    policies[index]!.started(Date.now());
    w.on("exit", (code, signal) => {
      if (workers.get(index) === w) workers.delete(index);
      if (stopping) return;
      const how = describeExit(code, signal);
      const decision = policies[index]!.exited(Date.now());
      if (!decision.restart) {
        log.fatal({ ftpProcess: index, exit: how }, `ftp process ${index} keeps crashing: ${decision.reason}; stopping the gateway`);
        return void stop(GAVE_UP_EXIT_CODE);
      }
      log.error({ ftpProcess: index, exit: how, delayMs: decision.delayMs }, `ftp process ${index} exited unexpectedly (${how}); restarting it`);
      setTimeout(() => stopping || fork(index), decision.delayMs);
    });
  };

  const stop = (code: number) => {
    if (stopping) return;
    stopping = true;
    for (const w of workers.values()) w.process.kill("SIGTERM");
    const done = () => workers.size === 0 && process.exit(code);
    for (const w of workers.values()) w.once("exit", () => setImmediate(done));
    setTimeout(() => {
      for (const w of workers.values()) w.process.kill("SIGKILL");
      process.exit(code);
    }, STOP_GRACE_MS).unref();
    done();
  };

  process.on("SIGTERM", () => stop(0));
  process.on("SIGINT", () => stop(0));
  for (let i = 0; i < count; i++) fork(i);
  log.info({ processes: count }, "ftp gateway cluster started");
}
