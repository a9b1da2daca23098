import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createFtpServer } from "../../lib/ftp/control";

let server: net.Server;
let port: number;
const attempts: Array<[string, string]> = [];

beforeAll(async () => {
  server = createFtpServer({
    host: "127.0.0.1",
    port: 0,
    verifyLogin: async (user, pass) => (attempts.push([user, pass]), false),
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as net.AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

/** Sends each line and collects the replies, one complete reply per line sent (after the greeting). */
async function converse(lines: string[]): Promise<string[]> {
  const sock = net.connect(port, "127.0.0.1");
  let buf = "";
  sock.on("data", (d) => (buf += d.toString()));
  const replies: string[] = [];
  const next = async () => {
    for (let i = 0; i < 100; i++) {
      const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(buf);
      if (m) {
        const end = m.index + m[0].length;
        replies.push(buf.slice(0, end));
        buf = buf.slice(end);
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`no reply; buffer: ${buf}`);
  };
  await next();
  for (const l of lines) {
    sock.write(`${l}\r\n`);
    await next();
  }
  sock.destroy();
  return replies;
}

describe("FTP control channel (login phase)", () => {
  it("greets, refuses a login it cannot verify, and refuses commands before login", async () => {
    const r = await converse(["SYST", "FEAT", "USER someone", "PASS secret", "LIST", "RETR x", "QUIT"]);
    expect(r[0]).toMatch(/^220 /);
    expect(r[1]).toMatch(/^215 UNIX/);
    expect(r[2]).toMatch(/^211-Features:\r\n UTF8\r\n211 End/);
    expect(r[3]).toMatch(/^331 /);
    expect(r[4]).toMatch(/^530 Login incorrect/);
    expect(r[5]).toMatch(/^530 /);
    expect(r[6]).toMatch(/^530 /);
    expect(r[7]).toMatch(/^221 /);
    expect(attempts).toContainEqual(["someone", "secret"]);
  });

  it("wants USER before PASS", async () => {
    const r = await converse(["PASS x"]);
    expect(r[1]).toMatch(/^503 /);
  });
});
