import net from "node:net";

function listen(host: string): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, host, () => resolve(srv));
  });
}

const close = (srv: net.Server) => new Promise<void>((resolve) => srv.close(() => resolve()));

/** A port the OS says is free on loopback right now. */
export async function freePort(host = "127.0.0.1"): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** n distinct free ports: all are held open together so the OS cannot hand out one twice. */
export async function freePorts(n: number, host = "127.0.0.1"): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await listen(host));
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map(close));
  }
}

const canListen = (port: number, host: string) =>
  new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once("error", () => resolve(false));
    s.listen({ port, host, exclusive: true }, () => s.close(() => resolve(true)));
  });

/** n consecutive free ports below Linux's ephemeral range (so outgoing connections do not take them meanwhile). */
export async function freePortRange(n: number, host = "127.0.0.1"): Promise<{ from: number; to: number }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const from = 12000 + Math.floor(Math.random() * (20000 - n));
    const ok = await Promise.all(Array.from({ length: n }, (_, i) => canListen(from + i, host)));
    if (ok.every(Boolean)) return { from, to: from + n - 1 };
  }
  throw new Error("no free passive port range");
}
