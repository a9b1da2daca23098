import { checkDatabase } from "./db";
import { checkRedis } from "./redis";
import { bucket, checkStorage, s3 } from "./s3";

export type HealthReport = { ok: boolean; redis: string; storage: string; database: string };

const describe = async (check: () => Promise<unknown>) => {
  try {
    await check();
    return "ok";
  } catch (err) {
    return `down: ${err instanceof Error ? err.message : String(err)}`;
  }
};

/** Probes every backing service in parallel; each is "ok" or "down: <why>". */
export async function health(): Promise<HealthReport> {
  const [redis, storage, database] = await Promise.all([
    describe(checkRedis),
    describe(() => checkStorage(s3(), bucket())),
    describe(checkDatabase),
  ]);
  return { ok: [redis, storage, database].every((s) => s === "ok"), redis, storage, database };
}
