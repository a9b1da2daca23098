import type { NextConfig } from "next";
import { STATIC_HEADERS } from "./lib/http/security-headers";

const config: NextConfig = {
  // Workers and scripts import lib/ directly; Next must not bundle these server-only packages.
  serverExternalPackages: ["pino", "pino-pretty", "bullmq", "ioredis", "pg", "@prisma/adapter-pg", "prom-client"],
  poweredByHeader: false,
  typedRoutes: false,
  async headers() {
    return [
      {
        source: "/(.*)",
        headers: Object.entries(STATIC_HEADERS).map(([key, value]) => ({ key, value })),
      },
    ];
  },
};

export default config;
