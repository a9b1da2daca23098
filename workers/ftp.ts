import { env } from "../lib/env";
import { createFtpServer } from "../lib/ftp/control";
import { log } from "../lib/log";
import { closeRedis } from "../lib/redis";

// Share credentials are issued by the seal flow (not built yet): until then every login fails closed.
const verifyLogin = async (): Promise<boolean> => false;

const server = createFtpServer({ host: env.FTP_HOST, port: env.FTP_PORT, verifyLogin });
server.on("error", (err) => {
  log.fatal({ err }, "ftp gateway cannot listen");
  process.exit(1);
});
server.listen(env.FTP_PORT, env.FTP_HOST, () => log.info({ host: env.FTP_HOST, port: env.FTP_PORT }, "ftp gateway listening"));

const shutdown = () => {
  server.close();
  void closeRedis().finally(() => process.exit(0));
};
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
