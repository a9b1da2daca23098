import path from "node:path";
import { defineConfig } from "vitest/config";

// Unit and integration tests. Integration tests get a real Redis, PostgreSQL and S3 server from the global
// setup (isolated, on free ports) unless REDIS_URL / DATABASE_URL / S3_ENDPOINT point elsewhere.
export default defineConfig({
  resolve: { alias: { "@": path.resolve(import.meta.dirname) } },
  test: {
    include: ["tests/**/*.test.ts"],
    globalSetup: ["tests/setup/global.ts"],
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 180_000,
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ["default"],
  },
});
