// OpenStack Swift with its S3 API, from Debian's packages: a real object store with ListParts, Abort and
// part-ETag checks (which the embedded server lacks), for the S3 conformance and upload tests.
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { spawnLogged, stopChild, waitFor } from "./child";
import { freePort } from "./free-port";
import { ensurePackages, hasCommand } from "./system-packages";

export type SwiftHandle = {
  name: "swift";
  endpoint: string;
  region: "us-east-1";
  accessKeyId: "test:tester";
  secretAccessKey: "testing";
  stop(): Promise<void>;
};

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

export async function startSwift(opts: { dataDir: string; corsOrigins: string[] }): Promise<SwiftHandle> {
  ensurePackages(
    ["swift-proxy", "swift-account", "swift-container", "swift-object", "memcached"],
    () => ["swift-proxy-server", "swift-object-server", "swift-ring-builder", "memcached"].every(hasCommand),
    "OpenStack Swift",
  );
  const root = path.join(opts.dataDir, "swift");
  const etc = path.join(root, "etc");
  const devices = path.join(root, "devices");
  const logs = path.join(root, "logs");
  for (const d of [etc, path.join(devices, "d1"), logs]) fs.mkdirSync(d, { recursive: true });
  const user = os.userInfo().username;
  const [accountPort, containerPort, objectPort, proxyPort, memcachePort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);

  // Everything reads swift.conf and the rings from swift_dir, so nothing is written under /etc.
  const common = [
    "[DEFAULT]",
    "bind_ip = 127.0.0.1",
    "workers = 1",
    `user = ${user}`,
    `swift_dir = ${etc}`,
    `devices = ${devices}`,
    "mount_check = false",
    "disable_fallocate = true",
    // Swift logs to syslog; without one here, send it to a UDP port nobody reads.
    "log_udp_host = 127.0.0.1",
    "log_udp_port = 9",
    "log_level = WARNING",
  ];
  const write = (name: string, lines: string[]) => fs.writeFileSync(path.join(etc, name), lines.join("\n") + "\n");
  write("swift.conf", [
    "[swift-hash]",
    "swift_hash_path_suffix = tempoftp-test-suffix",
    "swift_hash_path_prefix = tempoftp-test-prefix",
    "[storage-policy:0]",
    "name = Policy-0",
    "default = yes",
  ]);
  for (const [kind, port] of [["account", accountPort], ["container", containerPort], ["object", objectPort]] as const) {
    write(`${kind}-server.conf`, [...common, `bind_port = ${port}`, "[pipeline:main]", `pipeline = ${kind}-server`, `[app:${kind}-server]`, `use = egg:swift#${kind}`]);
    // Rings are rebuilt on every start because they record the (free, so changing) ports.
    const builder = path.join(etc, `${kind}.builder`);
    fs.rmSync(builder, { force: true });
    fs.rmSync(path.join(etc, `${kind}.ring.gz`), { force: true });
    execFileSync("swift-ring-builder", [builder, "create", "10", "1", "1"], { stdio: "ignore" });
    execFileSync("swift-ring-builder", [builder, "add", `r1z1-127.0.0.1:${port}/d1`, "100"], { stdio: "ignore" });
    // rebalance exits 1 with a warning on a one-device ring yet writes it; the ring file is what matters.
    try {
      execFileSync("swift-ring-builder", [builder, "rebalance"], { stdio: "ignore" });
    } catch {
      /* checked below */
    }
    if (!fs.existsSync(path.join(etc, `${kind}.ring.gz`))) throw new Error(`swift-ring-builder did not write ${kind}.ring.gz`);
  }
  const origins = opts.corsOrigins.join(" ");
  write("proxy-server.conf", [
    ...common,
    `bind_port = ${proxyPort}`,
    "[pipeline:main]",
    "pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server",
    "[app:proxy-server]",
    "use = egg:swift#proxy",
    "account_autocreate = true",
    `cors_allow_origin = ${origins}`,
    "cors_expose_headers = ETag",
    "[filter:s3api]",
    "use = egg:swift#s3api",
    "location = us-east-1",
    "s3_acl = false",
    `cors_preflight_allow_origin = ${origins}`,
    "[filter:tempauth]",
    "use = egg:swift#tempauth",
    "user_test_tester = testing .admin",
    "[filter:cache]",
    "use = egg:swift#memcache",
    `memcache_servers = 127.0.0.1:${memcachePort}`,
    ...["catch_errors", "gatekeeper", "healthcheck", "proxy_logging", "listing_formats", "copy", "slo", "dlo"].flatMap((f) => [
      `[filter:${f.replace("proxy_logging", "proxy-logging")}]`,
      `use = egg:swift#${f}`,
    ]),
  ]);

  const children = [
    spawnLogged("memcached", ["-l", "127.0.0.1", "-p", String(memcachePort), "-U", "0", "-u", user, "-m", "64"], path.join(logs, "memcached.log")),
    ...(["account", "container", "object", "proxy"] as const).map((kind) =>
      spawnLogged(`swift-${kind}-server`, [path.join(etc, `${kind}-server.conf`)], path.join(logs, `${kind}.log`)),
    ),
  ];
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c)));
  };
  try {
    for (const [i, port] of [memcachePort, accountPort, containerPort, objectPort].entries()) {
      await waitFor(`swift backend on ${port}`, () => listening(port), children[i], 60_000);
    }
    const endpoint = `http://127.0.0.1:${proxyPort}`;
    await waitFor("swift proxy", async () => (await fetch(`${endpoint}/healthcheck`)).status === 200, children[4], 60_000, path.join(logs, "proxy.log"));
    return { name: "swift", endpoint, region: "us-east-1", accessKeyId: "test:tester", secretAccessKey: "testing", stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// CLI for trying it by hand: `tsx scripts/services/swift.ts [dataDir]`, Ctrl-C to stop.
if (process.argv[1] === import.meta.filename) {
  const dir = path.resolve(process.argv[2] ?? ".data/swift-manual");
  const swift = await startSwift({ dataDir: dir, corsOrigins: ["http://localhost:3000"] });
  console.log(`Swift S3 API at ${swift.endpoint} (access key ${swift.accessKeyId}, secret ${swift.secretAccessKey}, region ${swift.region})`);
  const quit = () => void swift.stop().then(() => process.exit(0));
  process.on("SIGINT", quit);
  process.on("SIGTERM", quit);
}
