// A second web process for tests (`node --import tsx tests/setup/api-server-process.ts`): the hot API routes as
// scripts/web-server.ts serves them (lib/http/node-api.ts), on a free port it prints, plus GET /__bearer-cache,
// which says whether this process may answer bearer tokens from its cache now (its invalidation subscription is up).
import http from "node:http";
import type { AddressInfo } from "node:net";
import { apiRoutes } from "../../lib/api/routes";
import { cacheEpoch, cachedCaller } from "../../lib/auth/caller-cache";
import { nodeApiHandler } from "../../lib/http/node-api";
import { REMOTE_ADDR_HEADER } from "../../lib/net/client-address";

const handle = nodeApiHandler(apiRoutes);
const server = http.createServer((req, res) => {
  req.headers[REMOTE_ADDR_HEADER] = req.socket.remoteAddress ?? "";
  if (req.url === "/__bearer-cache") {
    cachedCaller(""); // starts the subscription, as the first API request does
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ live: cacheEpoch() !== undefined, pid: process.pid }));
    return;
  }
  if (handle(req, res)) return;
  res.writeHead(404).end();
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${(server.address() as AddressInfo).port}`));
process.once("SIGTERM", () => process.exit(0));
