import net from "node:net";
import { createFtpServer } from "../../lib/ftp";
import { log } from "../../lib/log";
import { freePortRange } from "../../scripts/services/free-port";
import { MemoryBackend } from "./memory-backend";

// Run by tests/unit/ftp-hardening.test.ts inside `unshare -n`, whose loopback carries fd00:64:0:1::1, fd00:64:0:1::2
// (one /64) and fd00:64:0:2::1 (another): connects from each with a per-address limit of 2 and prints the first
// reply code of every connection as JSON.

const firstCode = (port: number, localAddress: string) =>
  new Promise<string>((resolve) => {
    const s = net.connect({ port, host: "::1", localAddress });
    s.once("data", (d: Buffer) => resolve(d.toString().slice(0, 3)));
    s.once("error", (err) => resolve(`error ${err.message}`));
    s.once("close", () => resolve("closed"));
    held.push(s);
  });
const held: net.Socket[] = [];

const server = createFtpServer({
  host: "::",
  port: 0,
  pasvPorts: await freePortRange(2, "::1"),
  backend: new MemoryBackend(),
  maxConnectionsPerIp: 2,
  logger: log.child({}, { level: "silent" }),
});
const { port } = await server.listen();
const out: Record<string, string> = {};
const from = ["fd00:64:0:1::1", "fd00:64:0:1::2", "fd00:64:0:1::2", "fd00:64:0:2::1", "::1"];
for (const [i, addr] of from.entries()) out[`${addr} #${i + 1}`] = await firstCode(port, addr);
for (const s of held) s.destroy();
await server.close();
console.log(JSON.stringify(out));
process.exit(0);
