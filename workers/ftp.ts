import cluster from "node:cluster";
import { env } from "../lib/env";
import { loadTlsMaterial } from "../lib/ftp/tls";
import { log } from "../lib/log";
import { runGatewayPrimary } from "./ftp-cluster";

// The cluster primary (FTP_PROCESSES > 1) only forks and watches: it never loads the database, storage, Redis or
// metrics modules, so its memory stays that of a bare process (every gateway process counts against one budget).

const tlsMaterial = () =>
  loadTlsMaterial({
    certPath: env.FTP_TLS_CERT,
    keyPath: env.FTP_TLS_KEY,
    dataDir: env.DATA_DIR,
    hostnames: [env.FTP_PUBLIC_HOST, env.FTP_HOST],
  });

async function main() {
  const [{ createShareBackend, redisLoginLimiter }, { createFtpServer }, { passiveSlice }, { closeDb }, { closeQueues }, { closeRedis }, { instrumentFtpBackend }, { serveMetrics }, { listenForWebhooks }] =
    await Promise.all([
      import("../lib/downloads/ftp-backend"),
      import("../lib/ftp"),
      import("../lib/ftp/cluster"),
      import("../lib/db"),
      import("../lib/queues"),
      import("../lib/redis"),
      import("../lib/metrics/ftp"),
      import("../lib/metrics/serve"),
      import("../lib/webhooks/listen"),
    ]);
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
