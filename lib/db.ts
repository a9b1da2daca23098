import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "./generated/prisma/client";
import { required } from "./env";
import { withTimeout } from "./redis";

// The one module for the database: Prisma through the pg driver adapter (no native engine needed).
const globalForDb = globalThis as unknown as { tempoftpDb?: PrismaClient };

export function db(): PrismaClient {
  globalForDb.tempoftpDb ??= new PrismaClient({
    adapter: new PrismaPg({ connectionString: required("DATABASE_URL"), max: 10 }),
  });
  return globalForDb.tempoftpDb;
}

export async function checkDatabase(): Promise<true> {
  await withTimeout(db().$queryRaw`select 1`, 2000, "database query timed out");
  return true;
}

export async function closeDb(): Promise<void> {
  await globalForDb.tempoftpDb?.$disconnect();
  globalForDb.tempoftpDb = undefined;
}

export type { PrismaClient };
