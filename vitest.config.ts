import path from "node:path";
import { defineConfig } from "vitest/config";

// Two projects: unit tests need nothing; integration tests get a real Redis, PostgreSQL and S3 server from the
// global setup (isolated, on free ports) unless REDIS_URL / DATABASE_URL / S3_ENDPOINT point elsewhere.
const alias = { "@": path.resolve(import.meta.dirname) };

export default defineConfig({
  test: {
    pool: "forks",
    maxWorkers: 2,
    projects: [
      { resolve: { alias }, test: { name: "unit", include: ["tests/unit/**/*.test.ts"], testTimeout: 20_000 } },
      {
        resolve: { alias },
        test: {
          name: "integration",
          include: ["tests/integration/**/*.test.ts", "tests/system/**/*.test.ts", "tests/faults/**/*.test.ts"],
          globalSetup: ["tests/setup/global.ts"],
          setupFiles: ["tests/setup/redis-db.ts"],
          testTimeout: 60_000,
          hookTimeout: 600_000,
        },
      },
    ],
  },
});
