// This test process's Redis, queue and database clients, closed so the file ends cleanly. Imported dynamically:
// fault tests must not load lib/ before their own services are in process.env.
export async function closeClients(): Promise<void> {
  const [{ closeQueues }, { closeRedis }, { closeDb }] = await Promise.all([import("@/lib/queues"), import("@/lib/redis"), import("@/lib/db")]);
  await closeQueues();
  await closeRedis();
  await closeDb();
}
