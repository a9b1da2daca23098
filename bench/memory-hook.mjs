// Loaded with `NODE_OPTIONS=--import <this file>` (bench/sse.ts --memory): on SIGUSR2 the web process collects its
// garbage and writes what its memory is made of (process.memoryUsage() after a full GC, and V8's heap spaces) to
// MEMORY_STATS_DIR/web-<pid>-<n>.json, so the bench can tell live per-client state from heap growth and native memory.
import fs from "node:fs";
import path from "node:path";
import v8 from "node:v8";
import vm from "node:vm";

const dir = process.env.MEMORY_STATS_DIR;
if (dir && process.env.TEMPOFTP_PROCESS === "web") {
  v8.setFlagsFromString("--expose-gc");
  const gc = vm.runInNewContext("gc");
  let n = 0;
  process.on("SIGUSR2", () => {
    const before = process.memoryUsage();
    gc();
    gc();
    const after = process.memoryUsage();
    const spaces = Object.fromEntries(v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]));
    fs.mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `web-${process.pid}-${n++}.json`);
    fs.writeFileSync(`${file}.tmp`, JSON.stringify({ before, after, spaces }));
    fs.renameSync(`${file}.tmp`, file);
  });
}
