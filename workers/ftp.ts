import { env } from "../lib/env";
import { createShareBackend, redisLoginLimiter } from "../lib/downloads/ftp-backend";
import { createFtpServer, loadTlsMaterial } from "../lib/ftp";
import { log } from "../lib/log";
import { closeDb } from "../lib/db";
import { closeQueues } from "../lib/queues";
import { closeRedis } from "../lib/redis";
import { listenForWebhooks } from "../lib/webhooks/listen";


async function main() {
  // Downloads are emitted here: they feed webhooks (share.downloaded).
  listenForWebhooks();
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
    implicitTlsPort: env.FTP_IMPLICIT_TLS_PORT,
    publicHost: env.FTP_PUBLIC_HOST,
    pasvPorts: env.FTP_PASV_PORTS,
    maxPassivePerUser: env.FTP_MAX_PASV_PER_USER,
    tls,
    backend: createShareBackend(),
    limiter: redisLoginLimiter,
  });
  await server.listen();

  const shutdown = () => {
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

main().catch((err) => {
  log.fatal({ err }, "ftp gateway cannot start");
  process.exit(1);
});
