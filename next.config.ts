import type { NextConfig } from "next";

const config: NextConfig = {
  // Workers and scripts import lib/ directly; Next must not bundle these server-only packages.
  serverExternalPackages: ["pino", "pino-pretty", "bullmq", "ioredis", "pg", "@prisma/adapter-pg", "prom-client"],
  poweredByHeader: false,
  typedRoutes: false,
  async headers() {
    return [
      {
        source: "/(.*)",
        headers: [
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Referrer-Policy", value: "same-origin" },
        ],
      },
    ];
  },
};

export default config;
