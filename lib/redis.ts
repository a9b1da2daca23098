import { Redis, type RedisOptions } from "ioredis";
import { required } from "./env";
import { log } from "./log";

// The one module for Redis. BullMQ needs its own connections (maxRetriesPerRequest: null), made here too.

/** Every key the app writes starts with this, so one Redis can be shared and inspected by prefix. */
export const KEY_PREFIX = "tft";
export const redisKey = (...parts: string[]) => [KEY_PREFIX, ...parts].join(":");

let shared: Redis | undefined;

export function createRedis(opts: RedisOptions = {}): Redis {
  const client = new Redis(required("REDIS_URL"), { lazyConnect: false, enableAutoPipelining: true, ...opts });
  // ioredis retries by itself; log each outage once instead of an unhandled error per attempt.
  let down = false;
  client.on("error", (err) => {
    if (!down) log.error({ err: err.message }, "redis connection error; retrying");
    down = true;
  });
  client.on("ready", () => {
    if (down) log.info("redis connection restored");
    down = false;
  });
  return client;
}

export function redis(): Redis {
  shared ??= createRedis({ maxRetriesPerRequest: 2 });
  return shared;
}

export function bullConnection(): Redis {
  return createRedis({ maxRetriesPerRequest: null, enableAutoPipelining: false });
}

export async function checkRedis(): Promise<true> {
  const reply = await withTimeout(redis().ping(), 2000, "redis ping timed out");
  if (reply !== "PONG") throw new Error(`unexpected reply ${reply}`);
  return true;
}

/** Long-lived connections of their own (a subscription), closed with the shared one. */
const dedicated = new Set<Redis>();

/** A connection for one purpose (a subscription), named so CLIENT LIST shows whose it is; closed by closeRedis(). */
export function dedicatedRedis(name: string, opts: RedisOptions = {}): Redis {
  const client = createRedis({ connectionName: name, ...opts });
  dedicated.add(client);
  client.once("end", () => dedicated.delete(client));
  return client;
}

export async function closeRedis(): Promise<void> {
  await shared?.quit().catch(() => shared?.disconnect());
  shared = undefined;
  // Subscriptions only: nothing of theirs waits to be written.
  for (const client of dedicated) client.disconnect();
  dedicated.clear();
}

/** True when a command failed because Redis could not be reached (ioredis gave up on it), not because of its input. */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  return err.name === "MaxRetriesPerRequestError" || /Connection is closed|ECONNREFUSED|ECONNRESET|Stream isn't writeable|LOADING /.test(err.message);
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]);
}
