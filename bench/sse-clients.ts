// A child of bench/sse.ts: holds `n` SSE connections (raw HTTP, as EventSource makes them) and measures each
// event's delivery latency from the `sentAt` it carries. Several of these run side by side so the clients'
// parsing is never what limits the measurement.
import http from "node:http";

const [url, token, count] = process.argv.slice(2) as [string, string, string];
const send = (m: unknown) => process.send!(m);

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });
const latencies: number[] = [];
const requests: http.ClientRequest[] = [];
const connected: Promise<void>[] = [];
for (let i = 0; i < Number(count); i++) {
  connected.push(
    new Promise((resolve, reject) => {
      const req = http.get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
        let buf = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          const now = Date.now();
          buf += chunk;
          if (buf.includes(": connected")) resolve();
          let end: number;
          while ((end = buf.indexOf("\n\n")) >= 0) {
            const frame = buf.slice(0, end);
            buf = buf.slice(end + 2);
            const sent = /"sentAt":(\d+)/.exec(frame)?.[1];
            if (sent) latencies.push(now - Number(sent));
          }
        });
      });
      req.on("error", reject);
      requests.push(req);
    }),
  );
}
Promise.all(connected).then(
  () => send({ type: "connected" }),
  (err: Error) => send({ type: "error", message: err.message }),
);
process.on("message", (m: { type: string }) => {
  if (m.type !== "report") return;
  send({ type: "report", latencies });
  for (const r of requests) r.destroy();
  agent.destroy();
  setTimeout(() => process.exit(0), 50);
});
