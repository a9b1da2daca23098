import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { persistentSecret, spawnLogged, stopChild, waitFor, type Service } from "./child";
import { freePort } from "./free-port";
import { ensurePackages, hasCommand } from "./system-packages";

function ping(port: number, password: string): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = "";
    sock.setTimeout(1000, () => (sock.destroy(), resolve(false)));
    sock.on("error", () => resolve(false));
    sock.on("connect", () => sock.write(`AUTH ${password}\r\nPING\r\n`));
    sock.on("data", (d) => {
      buf += d.toString();
      if (buf.includes("+PONG")) (sock.end(), resolve(true));
      else if (buf.includes("-")) (sock.end(), resolve(false));
    });
  });
}

/** A redis-server on a free loopback port (or `port`, to restart one) with a generated password, data under dataDir/redis. */
export async function startRedis({ dataDir, port: wanted }: { dataDir: string; port?: number }): Promise<Service> {
  ensurePackages(["redis-server"], () => hasCommand("redis-server"), "redis-server");
  const dir = path.join(dataDir, "redis");
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const password = persistentSecret(path.join(dir, "password"), () => crypto.randomBytes(24).toString("hex"));
  const port = wanted ?? (await freePort());
  const logFile = path.join(dir, "redis.log");
  const conf = path.join(dir, "redis.conf");
  // Config file rather than argv so the password does not show in `ps`.
  fs.writeFileSync(
    conf,
    [
      `port ${port}`,
      "bind 127.0.0.1",
      "protected-mode yes",
      `dir ${dir}`,
      "appendonly yes",
      "save 60 1",
      `requirepass ${password}`,
      "maxmemory-policy noeviction",
    ].join("\n") + "\n",
    { mode: 0o600 },
  );
  const child = spawnLogged("redis-server", [conf], logFile);
  await waitFor("redis-server", () => ping(port, password), child, 20_000, logFile);
  return {
    name: "redis",
    env: { REDIS_URL: `redis://:${password}@127.0.0.1:${port}/0` },
    stop: () => stopChild(child),
  };
}
