import cliProgress from "cli-progress";
import { formatBytes } from "../lib/format";

// What the user sees while work runs, on stderr only: bars and a spinner on a terminal, a few plain lines
// otherwise (logs, cron mail), nothing with --quiet. stdout is kept for results (and --json).

export type Reporter = {
  fileStart(name: string, size: number, done: number): void;
  bytes(name: string, delta: number): void;
  fileDone(name: string, note?: string): void;
  /** A message that must not break the bars. */
  info(message: string): void;
  /** Processing on the server: files ready of all, bytes encrypted of all. */
  processing(ready: number, files: number, bytes: number, totalBytes: number): void;
  stop(): void;
};

export type ReporterMode = "bars" | "plain" | "quiet";

/** Bars only when both stdout and stderr are terminals (a pipe or a file gets no control characters). */
export function reporterMode(opts: { quiet?: boolean }, out = process.stdout, err = process.stderr): ReporterMode {
  if (opts.quiet) return "quiet";
  return out.isTTY && err.isTTY ? "bars" : "plain";
}

export function createReporter(mode: ReporterMode, totalBytes: number): Reporter {
  if (mode === "bars") return barsReporter(totalBytes);
  if (mode === "plain") return plainReporter();
  return { fileStart() {}, bytes() {}, fileDone() {}, info() {}, processing() {}, stop() {} };
}

const say = (line: string) => void process.stderr.write(`${line}\n`);

function plainReporter(): Reporter {
  let last = "";
  return {
    fileStart: (name, size, done) => say(done ? `resuming ${name} (${formatBytes(done)} of ${formatBytes(size)} already stored)` : `uploading ${name} (${formatBytes(size)})`),
    bytes() {},
    fileDone: (name, note) => say(`${note ?? "uploaded"} ${name}`),
    info: say,
    processing(ready, files) {
      const line = `processing: ${ready}/${files} files ready`;
      if (line !== last) say((last = line));
    },
    stop() {},
  };
}

/** Bytes per second over the last few seconds. */
function rateMeter(windowMs = 5000) {
  const samples: [number, number][] = [];
  let total = 0;
  return {
    add(n: number) {
      total += n;
      const now = Date.now();
      samples.push([now, total]);
      while (samples.length > 2 && samples[0]![0] < now - windowMs) samples.shift();
    },
    rate() {
      if (samples.length < 2) return 0;
      const [t0, b0] = samples[0]!;
      const [t1, b1] = samples[samples.length - 1]!;
      return t1 > t0 ? ((b1 - b0) * 1000) / (t1 - t0) : 0;
    },
  };
}

const SPINNER = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

function barsReporter(totalBytes: number): Reporter {
  const bytesValue = (v: number, _o: unknown, type: string) => (type === "value" || type === "total" ? formatBytes(Number(v)) : String(v));
  const multi = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      hideCursor: true,
      clearOnComplete: false,
      stopOnComplete: false,
      etaBuffer: 100,
      fps: 8,
      formatValue: bytesValue,
      format: " {name} |{bar}| {percentage}% {value}/{total}",
      barsize: 24,
    },
    cliProgress.Presets.shades_classic,
  );
  const meter = rateMeter();
  let done = 0;
  const total = multi.create(Math.max(totalBytes, 1), 0, { name: "total".padEnd(24), speed: "" }, {
    format: " {name} |{bar}| {percentage}% {value}/{total} {speed} ETA {eta_formatted}",
  });
  const bars = new Map<string, cliProgress.SingleBar>();
  let spin: NodeJS.Timeout | undefined;
  let spinText = "";
  const label = (name: string) => (name.length > 24 ? `${name.slice(0, 23)}…` : name.padEnd(24));
  return {
    fileStart(name, size, already) {
      bars.set(name, multi.create(Math.max(size, 1), already, { name: label(name) }));
      done += already;
      total.update(done);
    },
    bytes(name, delta) {
      done += delta;
      meter.add(delta);
      bars.get(name)?.increment(delta);
      total.update(done, { speed: `${formatBytes(Math.round(meter.rate()))}/s` });
    },
    fileDone(name, note) {
      const bar = bars.get(name);
      if (bar) multi.remove(bar);
      bars.delete(name);
      multi.log(`${note ?? "uploaded"} ${name}\n`);
    },
    info: (message) => (spin ? process.stderr.write(`\r\x1b[2K${message}\n`) : multi.log(`${message}\n`)),
    processing(ready, files, bytes, all) {
      if (!spin) {
        multi.stop();
        let i = 0;
        spin = setInterval(() => process.stderr.write(`\r\x1b[2K${SPINNER[i++ % SPINNER.length]} ${spinText}`), 100);
      }
      const pct = all ? Math.floor((bytes / all) * 100) : 100;
      spinText = `processing ${pct}% (${ready}/${files} files ready)`;
    },
    stop() {
      if (spin) {
        clearInterval(spin);
        process.stderr.write("\r\x1b[2K");
      } else multi.stop();
    },
  };
}
