import net from "node:net";
import { log } from "../log";

// The FTP gateway's control channel. This first cut speaks the login phase; share access arrives with the
// credentials and vault issues, so every login is refused (fail closed) until credentials exist.

export type FtpServerOptions = {
  host: string;
  port: number;
  verifyLogin: (user: string, pass: string, ip: string) => Promise<boolean>;
};

const MAX_LINE = 4096;

export function createFtpServer(opts: FtpServerOptions): net.Server {
  return net.createServer((sock) => {
    const ip = sock.remoteAddress ?? "?";
    let user: string | undefined;
    let buf = "";
    const reply = (code: number, text: string) => sock.write(`${code} ${text}\r\n`);
    sock.setTimeout(300_000, () => (reply(421, "Idle timeout, closing control connection"), sock.end()));
    sock.on("error", () => sock.destroy());
    reply(220, "tempoftp ready");

    const handle = async (line: string) => {
      const sp = line.indexOf(" ");
      const cmd = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      const arg = sp < 0 ? "" : line.slice(sp + 1);
      switch (cmd) {
        case "USER":
          user = arg;
          return reply(331, "Password required");
        case "PASS": {
          if (!user) return reply(503, "Send USER first");
          const ok = await opts.verifyLogin(user, arg, ip).catch(() => false);
          log.info({ ftpUser: user, ip, ok }, "ftp login attempt");
          user = undefined;
          return ok ? reply(230, "Logged in") : reply(530, "Login incorrect");
        }
        case "SYST":
          return reply(215, "UNIX Type: L8");
        case "FEAT":
          return sock.write("211-Features:\r\n UTF8\r\n211 End\r\n");
        case "NOOP":
          return reply(200, "OK");
        case "QUIT":
          reply(221, "Goodbye");
          return sock.end();
        default:
          return reply(530, "Please log in with USER and PASS");
      }
    };

    let queue = Promise.resolve();
    sock.on("data", (chunk) => {
      buf += chunk.toString("utf8");
      if (buf.length > MAX_LINE && !buf.includes("\n")) {
        reply(500, "Line too long");
        return sock.destroy();
      }
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl).replace(/\r$/, "");
        buf = buf.slice(nl + 1);
        // Commands are handled strictly in order, one at a time.
        queue = queue.then(async () => void (await handle(line)));
      }
    });
  });
}
