import Redis from "ioredis";

// Test files that run at the same time (one per vitest worker) get a Redis database of their own, emptied before
// each file: login throttles, queues and sessions of one file never answer another's (a file's wrong passwords
// from 127.0.0.1 would otherwise throttle every FTP login of the file beside it). Files that pick a database
// themselves (a worker that must not take other files' jobs) set REDIS_URL again at their top, as before.
const base = (process.env.TEST_REDIS_BASE_URL ??= process.env.REDIS_URL);
if (base) {
  const url = new URL(base);
  url.pathname = `/${10 + (Number(process.env.VITEST_POOL_ID ?? 0) % 6)}`;
  process.env.REDIS_URL = url.toString();
  const client = new Redis(url.toString(), { lazyConnect: true, maxRetriesPerRequest: 3 });
  await client.connect();
  await client.flushdb();
  await client.quit();
}
