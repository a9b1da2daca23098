import { env } from "../lib/env";
import { createShareBackend, redisLoginLimiter } from "../lib/downloads/ftp-backend";
import { createFtpServer, loadTlsMaterial } from "../lib/ftp";
import { log } from "../lib/log";
import { closeDb } from "../lib/db";
import { closeRedis } from "../lib/redis";
import { instrumentFtpBackend } from "../lib/metrics/ftp";
import { serveMetrics } from "../lib/metrics/serve";

async function main() {
  const tls = await loadTlsMaterial({
    certPath: env.FTP_TLS_CERT,
    keyPath: env.FTP_TLS_KEY,
    dataDir: env.DATA_DIR,
    hostnames: [env.FTP_PUBLIC_HOST, env.FTP_HOST],
  });
  log.info({ source: tls.source }, "ftp TLS certificate loaded");
  const server = createFtpServer({
    host: env.FTP_HOST,
    port: env.FTP_PORT,
    publicHost: env.FTP_PUBLIC_HOST,
    pasvPorts: env.FTP_PASV_PORTS,
    maxPassivePerUser: env.FTP_MAX_PASV_PER_USER,
    tls,
    backend: instrumentFtpBackend(createShareBackend()),
    limiter: redisLoginLimiter,
  });
  await server.listen();
  // Gateway process i scrapes on METRICS_PORT + 1 + i (the worker has METRICS_PORT).
  const scrape = await serveMetrics({ host: env.METRICS_HOST, port: env.METRICS_PORT + 1 + env.FTP_PROCESS_INDEX, token: env.METRICS_TOKEN });
  if (scrape) log.info({ port: scrape.port }, "ftp metrics listening");

  const shutdown = () => {
    void scrape?.close();
    void server
      .close()
      .then(() => Promise.all([closeRedis(), closeDb()]))
      .finally(() => process.exit(0));
    // Transfers get a moment to see their 421; then the process goes regardless.
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

main().catch((err) => {
  log.fatal({ err }, "ftp gateway cannot start");
  process.exit(1);
});
