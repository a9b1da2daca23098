// The web process: Next.js's request handler behind a plain Node HTTP server, so the socket's address reaches
// route handlers (Next.js only passes on X-Forwarded-For, which a client can write). See lib/net/client-address.ts.
import http from "node:http";
import path from "node:path";
import next from "next";
import { apiRoutes } from "../lib/api/routes";
import { env } from "../lib/env";
import { nodeApiHandler } from "../lib/http/node-api";
import { handleEventStream } from "../lib/live/event-streams";
import { observeHttp, routeMatcher, routeTemplates } from "../lib/metrics/http";
import { REMOTE_ADDR_HEADER } from "../lib/net/client-address";

const root = path.resolve(import.meta.dirname, "..");
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const dev = process.argv.includes("--dev");
const port = Number(arg("-p", process.env.PORT ?? "3000"));
const hostname = arg("-H", process.env.HOST ?? "127.0.0.1");

const app = next({ dev, dir: root, hostname, port });

async function main() {
  await app.prepare();
  const handle = app.getRequestHandler();
  // Requests are counted by the app's route templates (bounded labels), found once from the app directory.
  const routeOf = routeMatcher(routeTemplates(path.join(root, "app")));
  const handleApi = nodeApiHandler(apiRoutes);
  const server = http.createServer((req, res) => {
    // Always overwritten: a client's own copy of the header never survives.
    req.headers[REMOTE_ADDR_HEADER] = req.socket.remoteAddress ?? "";
    observeHttp(req, res, routeOf);
    // Event streams are served here, without Next.js's per-request web streams: thousands of clients per process.
    if (handleEventStream(req, res)) return;
    // The hot JSON API routes (lib/api/routes.ts), the same handlers as Next.js's, without its per-request cost.
    if (handleApi(req, res)) return;
    void handle(req, res);
  });
  if (dev) server.on("upgrade", app.getUpgradeHandler());
  // Behind a load balancer, idle keep-alive connections must outlive its own idle timeout (usually 60 s).
  server.keepAliveTimeout = 65_000;
  server.listen({ port, host: hostname, backlog: env.WEB_LISTEN_BACKLOG }, () => console.log(`web listening on http://${hostname}:${port} (${dev ? "development" : "production"})`));

  const stop = () => {
    server.close();
    // Event streams never end on their own: cut them so the process exits promptly.
    server.closeAllConnections();
    void app.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 5000).unref();
  };
  process.once("SIGTERM", stop);
  process.once("SIGINT", stop);
}

main().catch((err) => {
  console.error(`web start-up failed: ${err instanceof Error ? err.stack : String(err)}`);
  process.exit(1);
});
