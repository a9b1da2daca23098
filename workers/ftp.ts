import cluster from "node:cluster";
import { env } from "../lib/env";
import { createShareBackend, redisLoginLimiter } from "../lib/downloads/ftp-backend";
import { createFtpServer, loadTlsMaterial } from "../lib/ftp";
import { passiveSlice } from "../lib/ftp/cluster";
import { log } from "../lib/log";
import { closeDb } from "../lib/db";
import { closeQueues } from "../lib/queues";
import { closeRedis } from "../lib/redis";
import { instrumentFtpBackend } from "../lib/metrics/ftp";
import { serveMetrics } from "../lib/metrics/serve";
import { listenForWebhooks } from "../lib/webhooks/listen";
import { runGatewayPrimary } from "./ftp-cluster";

const tlsMaterial = () =>
  loadTlsMaterial({
    certPath: env.FTP_TLS_CERT,
    keyPath: env.FTP_TLS_KEY,
    dataDir: env.DATA_DIR,
    hostnames: [env.FTP_PUBLIC_HOST, env.FTP_HOST],
  });

async function main() {
  // Downloads are emitted here: they feed webhooks (share.downloaded).
  listenForWebhooks();
  const tls = await tlsMaterial();
  log.info({ source: tls.source }, "ftp TLS certificate loaded");
  // One of FTP_PROCESSES: its own passive ports only, so data connections come back to this process.
  const index = cluster.isPrimary ? 0 : env.FTP_PROCESS_INDEX;
  const server = createFtpServer({
    logger: cluster.isPrimary ? log : log.child({ ftpProcess: index }),
    host: env.FTP_HOST,
    port: env.FTP_PORT,
    implicitTlsPort: env.FTP_IMPLICIT_TLS_PORT,
    publicHost: env.FTP_PUBLIC_HOST,
    pasvPorts: passiveSlice(env.FTP_PASV_PORTS, index, cluster.isPrimary ? 1 : env.FTP_PROCESSES),
    maxPassivePerUser: env.FTP_MAX_PASV_PER_USER,
    maxPendingLogins: env.FTP_MAX_PENDING_LOGINS,
    tls,
    backend: instrumentFtpBackend(createShareBackend()),
    limiter: redisLoginLimiter,
  });
  await server.listen();
  // Gateway process i scrapes on METRICS_PORT + 1 + i (the worker has METRICS_PORT).
  const scrape = await serveMetrics({ host: env.METRICS_HOST, port: env.METRICS_PORT + 1 + index, token: env.METRICS_TOKEN });
  if (scrape) log.info({ port: scrape.port }, "ftp metrics listening");

  const shutdown = () => {
    void scrape?.close();
    void server
      .close()
      .then(() => Promise.all([closeQueues(), closeRedis(), closeDb()]))
      .finally(() => process.exit(0));
    // Transfers get a moment to see their 421; then the process goes regardless.
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.on("SIGTERM", shutdown);
  process.on("SIGINT", shutdown);
}

if (cluster.isPrimary && env.FTP_PROCESSES > 1) {
  // A generated certificate is written once, here, before the processes that read it start.
  tlsMaterial().then(
    () => runGatewayPrimary(env.FTP_PROCESSES, log),
    (err: unknown) => {
      log.fatal({ err }, "ftp gateway cannot start");
      process.exit(1);
    },
  );
} else {
  main().catch((err) => {
    log.fatal({ err }, "ftp gateway cannot start");
    process.exit(1);
  });
}
