// A child of bench/sse.ts: holds `n` SSE connections (raw HTTP, as EventSource makes them) and measures each
// event's delivery latency from the `sentAt` it carries. Several of these run side by side so the clients'
// parsing is never what limits the measurement. `window` > 0 paces the connects (at most that many opening at once);
// 0 opens them all at once, like a crowd of browsers reconnecting after a restart. A connection that fails is
// retried after 2 s, as EventSource does (its `retry:`), at most 5 times, and counted.
import http from "node:http";

const [url, token, count, window = "0"] = process.argv.slice(2) as [string, string, string, string?];
const send = (m: unknown) => process.send!(m);

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const latencies: number[] = [];
const requests = new Set<http.ClientRequest>();
const errors: string[] = [];
let retries = 0;
let opening = 0;
const waiting: (() => void)[] = [];
const slot = () => (Number(window) > 0 && opening >= Number(window) ? new Promise<void>((r) => waiting.push(r)) : Promise.resolve());
const release = () => {
  opening--;
  waiting.shift()?.();
};

function open(tries: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let connected = false;
    const retry = (why: string) => {
      if (connected) return;
      connected = true;
      release();
      errors.push(why);
      if (tries >= 5) return reject(new Error(`gave up after 5 tries: ${why}`));
      retries++;
      setTimeout(() => slot().then(() => open(tries + 1).then(resolve, reject)), 2000);
    };
    opening++;
    const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return retry(`HTTP ${res.statusCode}`);
      let buf = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const now = Date.now();
        buf += chunk;
        if (!connected && buf.includes(": connected")) {
          connected = true;
          release();
          resolve();
        }
        let end: number;
        while ((end = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const sent = /"sentAt":(\d+)/.exec(frame)?.[1];
          if (sent) latencies.push(now - Number(sent));
        }
      });
    });
    req.on("error", (err: NodeJS.ErrnoException) => retry(err.code ?? err.message));
    requests.add(req);
  });
}

Promise.all(Array.from({ length: Number(count) }, () => slot().then(() => open(1)))).then(
  () => send({ type: "connected", retries, errors: [...new Set(errors)] }),
  (err: Error) => send({ type: "error", message: err.message }),
);
process.on("message", (m: { type: string }) => {
  if (m.type !== "report") return;
  send({ type: "report", latencies });
  for (const r of requests) r.destroy();
  agent.destroy();
  setTimeout(() => process.exit(0), 50);
});
