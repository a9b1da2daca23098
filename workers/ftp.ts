import { env } from "../lib/env";
import { createFtpServer, loadTlsMaterial, type FtpBackend } from "../lib/ftp";
import { log } from "../lib/log";
import { closeRedis } from "../lib/redis";

// Until the share store is wired in, every login fails closed (530); the protocol, TLS and limits are live.
const backend: FtpBackend = {
  login: async () => null,
};

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
    tls,
    backend,
  });
  await server.listen();

  const shutdown = () => {
    void server
      .close()
      .then(() => closeRedis())
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
