import { checkDatabase } from "./db";
import { log } from "./log";
import { checkRedis } from "./redis";
import { storage } from "./s3";

export type ServiceState = "ok" | "down";
export type HealthReport = { ok: boolean; redis: ServiceState; storage: ServiceState; database: ServiceState };

const lastLine = (err: unknown) => (err instanceof Error ? err.message : String(err)).split("\n").filter(Boolean).pop() ?? "unknown error";

// The answer only names what is down: the endpoint is unauthenticated, so reasons (addresses, errors) go to the log.
async function probe(name: string, check: () => Promise<unknown>): Promise<ServiceState> {
  try {
    await check();
    return "ok";
  } catch (err) {
    log.warn({ service: name, reason: lastLine(err) }, "health check failed");
    return "down";
  }
}

/** Probes every backing service in parallel. */
export async function health(): Promise<HealthReport> {
  const [redis, store, database] = await Promise.all([
    probe("redis", checkRedis),
    probe("storage", () => storage().check()),
    probe("database", checkDatabase),
  ]);
  return { ok: redis === "ok" && store === "ok" && database === "ok", redis, storage: store, database };
}
