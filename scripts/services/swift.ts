// OpenStack Swift with its S3 API, from Debian's packages: a real object store with ListParts, Abort and
// part-ETag checks (which the embedded server lacks), for the S3 conformance and upload tests.
import { execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { spawnLogged, stopChild, waitFor } from "./child";
import { freePorts } from "./free-port";
import { ensurePackages, hasCommand } from "./system-packages";

export type SwiftHandle = {
  name: "swift";
  endpoint: string;
  region: "us-east-1";
  accessKeyId: "test:tester";
  secretAccessKey: "testing";
  stop(): Promise<void>;
};

const PACKAGES = ["swift-proxy", "swift-account", "swift-container", "swift-object", "memcached"];
const COMMANDS = ["swift-proxy-server", "swift-account-server", "swift-container-server", "swift-object-server", "swift-ring-builder", "memcached"];
const BACKENDS = ["account", "container", "object"] as const;

// Swift's servers read /etc/swift/swift.conf whatever swift_dir says (SWIFT_CONF_FILE is hard-coded), so each
// daemon runs through this launcher, which points it at our own swift.conf before Swift loads its policies. It
// also asks the kernel to stop the daemon when the Node process that started it dies without cleaning up.
const LAUNCHER = `
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(os.environ["SWIFT_LAUNCH_PARENT"]):
    sys.exit("parent already gone")
mode, rest = sys.argv[1], sys.argv[2:]
if mode == "exec":
    os.execvp(rest[0], rest)
if mode == "rings":
    # What swift-ring-builder create 10 1 1 / add r1z1-127.0.0.1:PORT/d1 100 / rebalance does, in one process.
    from swift.common.ring import RingBuilder
    for spec in rest:
        ring_file, port = spec.rsplit(":", 1)
        builder = RingBuilder(10, 1, 1)
        builder.add_dev({"region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port), "device": "d1", "weight": 100})
        builder.rebalance()
        builder.get_ring().save(ring_file)
    sys.exit(0)
swift_conf, kind, conf_file = rest
from swift.common import utils
utils.SWIFT_CONF_FILE = swift_conf
from swift.common.wsgi import run_wsgi
extra = {}
if kind == "object-server":
    from swift.obj import server
    extra["global_conf_callback"] = server.global_conf_callback
sys.exit(run_wsgi(conf_file, kind, **extra))
`;

const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
  });

/** The Python that has Swift's modules: the one in swift-proxy-server's shebang (not a pyenv one on PATH). */
function swiftPython(): string {
  try {
    const bin = execFileSync("sh", ["-c", "command -v swift-proxy-server"], { encoding: "utf8" }).trim();
    const shebang = fs.readFileSync(bin, "utf8").split("\n", 1)[0] ?? "";
    const m = /^#!\s*(\S+)/.exec(shebang);
    if (m?.[1] && !m[1].endsWith("/env")) return m[1];
  } catch {
    // fall through to Debian's interpreter
  }
  return "/usr/bin/python3";
}

const ini = (sections: Record<string, Record<string, string | number | boolean>>) =>
  Object.entries(sections)
    .map(([name, kv]) => [`[${name}]`, ...Object.entries(kv).map(([k, v]) => `${k} = ${v}`)].join("\n"))
    .join("\n\n") + "\n";

/** Swift (account, container, object, proxy with s3api + tempauth) and memcached on free loopback ports. */
export async function startSwift(opts: { dataDir: string; corsOrigins: string[]; verbose?: boolean }): Promise<SwiftHandle> {
  ensurePackages(PACKAGES, () => COMMANDS.every(hasCommand), "OpenStack Swift");
  const root = path.join(opts.dataDir, "swift");
  const etc = path.join(root, "etc");
  const devices = path.join(root, "devices");
  const logs = path.join(root, "logs");
  for (const d of [etc, path.join(devices, "d1"), logs]) fs.mkdirSync(d, { recursive: true, mode: 0o700 });
  const user = os.userInfo().username;
  const [accountPort, containerPort, objectPort, proxyPort, memcachePort] = (await freePorts(5)) as [number, number, number, number, number];
  const ports = { account: accountPort, container: containerPort, object: objectPort };
  const file = (name: string) => path.join(etc, name);

  const swiftConf = file("swift.conf");
  fs.writeFileSync(
    swiftConf,
    ini({
      "swift-hash": { swift_hash_path_suffix: "tempoftp-local-suffix", swift_hash_path_prefix: "tempoftp-local-prefix" },
      "storage-policy:0": { name: "Policy-0", default: "yes" },
    }),
  );
  fs.writeFileSync(file("launch.py"), LAUNCHER);

  const common = {
    bind_ip: "127.0.0.1",
    // One process per server: no forked workers that could outlive a killed parent.
    workers: 0,
    // Swift drops privileges to `swift` by default, which could not write our data dir: stay who we are.
    user,
    swift_dir: etc,
    devices,
    mount_check: false,
    disable_fallocate: true,
    // Swift logs only to syslog; there is none here, so send it to the discard port.
    log_udp_host: "127.0.0.1",
    log_udp_port: 9,
    log_level: opts.verbose ? "INFO" : "WARNING",
  };
  for (const kind of BACKENDS) {
    fs.writeFileSync(
      file(`${kind}-server.conf`),
      ini({
        DEFAULT: { ...common, bind_port: ports[kind] },
        "pipeline:main": { pipeline: `${kind}-server` },
        [`app:${kind}-server`]: { use: `egg:swift#${kind}` },
      }),
    );
  }

  // Both options take comma-separated origins.
  const origins = opts.corsOrigins.join(",");
  const filters = ["catch_errors", "gatekeeper", "healthcheck", "proxy-logging", "listing_formats", "copy", "slo", "dlo"];
  fs.writeFileSync(
    file("proxy-server.conf"),
    ini({
      DEFAULT: { ...common, bind_port: proxyPort },
      "pipeline:main": {
        pipeline: "catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server",
      },
      "app:proxy-server": {
        use: "egg:swift#proxy",
        account_autocreate: true,
        cors_allow_origin: origins,
        cors_expose_headers: "ETag",
      },
      "filter:s3api": { use: "egg:swift#s3api", location: "us-east-1", s3_acl: false, cors_preflight_allow_origin: origins, max_upload_part_num: 10000 },
      "filter:tempauth": { use: "egg:swift#tempauth", user_test_tester: "testing .admin" },
      "filter:cache": { use: "egg:swift#memcache", memcache_servers: `127.0.0.1:${memcachePort}` },
      ...Object.fromEntries(filters.map((f) => [`filter:${f}`, { use: `egg:swift#${f.replace("-", "_")}` }])),
    }),
  );

  const python = swiftPython();
  const env = { ...process.env, SWIFT_LAUNCH_PARENT: String(process.pid) };
  const launch = (name: string, args: string[]) =>
    spawnLogged(python, [file("launch.py"), ...args], path.join(logs, `${name}.log`), { env });
  // Rings record the ports, which change on every start, so they are rebuilt every time (in one Python
  // process: three swift-ring-builder calls per ring cost about 2 s each).
  execFileSync(python, [file("launch.py"), "rings", ...BACKENDS.map((kind) => `${file(`${kind}.ring.gz`)}:${ports[kind]}`)], {
    env,
    stdio: ["ignore", "ignore", "pipe"],
  });
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(children.map((c) => stopChild(c)));
  };
  try {
    children.push(launch("memcached", ["exec", "memcached", "-l", "127.0.0.1", "-p", String(memcachePort), "-U", "0", "-u", user, "-m", "64"]));
    for (const kind of [...BACKENDS, "proxy"] as const) {
      children.push(launch(kind, ["server", swiftConf, `${kind}-server`, file(`${kind}-server.conf`)]));
    }
    const log = (name: string) => path.join(logs, `${name}.log`);
    await Promise.all([
      waitFor("memcached", () => listening(memcachePort), children[0], 60_000, log("memcached")),
      ...BACKENDS.map((kind, i) => waitFor(`swift ${kind} server`, () => listening(ports[kind]), children[i + 1], 60_000, log(kind))),
    ]);
    const endpoint = `http://127.0.0.1:${proxyPort}`;
    await waitFor("swift proxy", async () => (await fetch(`${endpoint}/healthcheck`)).status === 200, children[4], 60_000, log("proxy"));
    return { name: "swift", endpoint, region: "us-east-1", accessKeyId: "test:tester", secretAccessKey: "testing", stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

// CLI: `tsx scripts/services/swift.ts start [--data-dir X]` runs in the foreground until Ctrl-C or
// `tsx scripts/services/swift.ts stop [--data-dir X]` (from another shell).
if (process.argv[1] === import.meta.filename) {
  const args = process.argv.slice(2);
  const command = args.find((a) => !a.startsWith("-")) ?? "start";
  const flag = args.indexOf("--data-dir");
  const dataDir = path.resolve((flag >= 0 ? args[flag + 1] : undefined) ?? ".data/swift-manual");
  const pidFile = path.join(dataDir, "swift", "cli.pid");
  if (command === "stop") {
    const pid = Number(fs.existsSync(pidFile) ? fs.readFileSync(pidFile, "utf8") : NaN);
    if (!pid) {
      console.error(`no Swift started from ${dataDir}`);
      process.exit(1);
    }
    try {
      process.kill(pid, "SIGTERM");
    } catch {
      console.error(`Swift (pid ${pid}) was not running`);
    }
    while (fs.existsSync(pidFile)) await new Promise((r) => setTimeout(r, 100));
  } else if (command === "start") {
    const started = Date.now();
    const swift = await startSwift({ dataDir, corsOrigins: [process.env.PUBLIC_URL ?? "http://localhost:3000"] });
    fs.writeFileSync(pidFile, String(process.pid));
    console.log(`Swift S3 API ready in ${((Date.now() - started) / 1000).toFixed(1)}s. Use it with:`);
    console.log(`S3_ENDPOINT=${swift.endpoint} S3_REGION=${swift.region} S3_ACCESS_KEY_ID=${swift.accessKeyId} S3_SECRET_ACCESS_KEY=${swift.secretAccessKey} S3_FORCE_PATH_STYLE=true`);
    const quit = () =>
      void swift.stop().finally(() => {
        fs.rmSync(pidFile, { force: true });
        process.exit(0);
      });
    process.on("SIGINT", quit);
    process.on("SIGTERM", quit);
  } else {
    console.error("usage: tsx scripts/services/swift.ts start|stop [--data-dir DIR]");
    process.exit(2);
  }
}
