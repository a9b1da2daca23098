// The report's charts, as SVG drawn by vega-lite (https://vega.github.io/vega-lite/) from the run's results.
import fs from "node:fs";
import path from "node:path";
import * as vega from "vega";
import * as vl from "vega-lite";
import { resultOf, type ApiRun, type BenchResults, type Chart, type FtpRow, type ProcessRow, type SseRun, type UploadRun } from "./report";

type Point = Record<string, string | number>;

async function svg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: "none" });
  return view.toSVG();
}

const line = (title: string, values: Point[], x: { field: string; title: string; log?: boolean }, y: { field: string; title: string; log?: boolean }): vl.TopLevelSpec => ({
  $schema: "https://vega.github.io/schema/vega-lite/v6.json",
  title,
  width: 520,
  height: 300,
  background: "white",
  data: { values },
  mark: { type: "line", point: true },
  encoding: {
    x: { field: x.field, type: "quantitative", title: x.title, scale: x.log ? { type: "log" } : { zero: false } },
    y: { field: y.field, type: "quantitative", title: y.title, scale: y.log ? { type: "log" } : {} },
    color: { field: "series", type: "nominal", title: null },
  },
});

/** Writes the charts the results allow (a benchmark that failed leaves its chart out) and lists them. */
export async function renderCharts(r: BenchResults, dir: string): Promise<Chart[]> {
  const charts: { file: string; title: string; spec: vl.TopLevelSpec }[] = [];

  const ftp = resultOf<{ results: FtpRow[] }>(r, "ftp")?.results ?? [];
  if (ftp.length) {
    const values = ftp.flatMap((x) => [
      { series: `gateway ${x.protocol.toUpperCase()}`, streams: x.streams, mibps: x.gatewayMiBps },
      { series: `pure-ftpd ${x.protocol.toUpperCase()}`, streams: x.streams, mibps: x.pureftpdMiBps },
      ...(x.protocol === "ftp" ? [{ series: "raw S3 GET", streams: x.streams, mibps: x.rawS3MiBps }] : []),
    ]);
    charts.push({ file: "throughput-vs-streams.svg", title: "Download throughput against concurrent streams", spec: line("Download throughput against concurrent streams (bench/ftp.ts)", values, { field: "streams", title: "concurrent streams", log: true }, { field: "mibps", title: "MiB/s, all streams", log: true }) });
  }

  const sse = resultOf<{ runs: SseRun[] }>(r, "sse")?.runs ?? [];
  const api = resultOf<{ runs: ApiRun[] }>(r, "api")?.runs ?? [];
  if (sse.length || api.length) {
    const values = [
      ...sse.flatMap((x) => [
        { series: "event stream p50", clients: x.clients, ms: Math.max(1, x.latencyMs.p50) },
        { series: "event stream p99", clients: x.clients, ms: Math.max(1, x.latencyMs.p99) },
      ]),
      ...api.filter((x) => x.total).flatMap((x) => [
        { series: `${x.endpoint} p50`, clients: x.connections, ms: Math.max(1, x.latencyMs.p50) },
        { series: `${x.endpoint} p99`, clients: x.connections, ms: Math.max(1, x.latencyMs.p99) },
      ]),
    ];
    charts.push({ file: "latency-vs-clients.svg", title: "Latency against concurrent clients", spec: line("Latency against concurrent clients (bench/sse.ts, bench/api.ts)", values, { field: "clients", title: "concurrent clients", log: true }, { field: "ms", title: "latency, ms (1 ms floor)", log: true }) });
  }

  const upload = resultOf<{ runs: UploadRun[] }>(r, "upload")?.runs ?? [];
  const processRows = resultOf<{ results: ProcessRow[] }>(r, "process")?.results ?? [];
  if (upload.length || processRows.length) {
    const values = [
      ...upload.filter((x) => x.appPeakRssMiB !== null).map((x) => ({ series: `upload: app server, ${x.way}`, sizeMiB: x.sizeMiB, rss: x.appPeakRssMiB! })),
      ...processRows.map((x) => ({ series: "process-file: worker", sizeMiB: x.gib * 1024, rss: x.rss.peakMiB })),
    ];
    charts.push({ file: "memory-vs-file-size.svg", title: "Peak memory against file size", spec: line("Peak RSS against file size (bench/upload.ts, bench/process.ts)", values, { field: "sizeMiB", title: "file size, MiB", log: true }, { field: "rss", title: "peak RSS, MiB" }) });
  }
  if (upload.length) {
    charts.push({
      file: "upload-throughput.svg",
      title: "Upload throughput by way",
      spec: {
        $schema: "https://vega.github.io/schema/vega-lite/v6.json",
        title: "Upload throughput, same file, same storage (bench/upload.ts)",
        width: 520,
        height: 260,
        background: "white",
        data: { values: upload.map((x) => ({ way: x.way, size: `${x.sizeMiB} MiB`, mibps: x.mibps })) },
        mark: "bar",
        encoding: {
          y: { field: "way", type: "nominal", title: null, sort: ["sdk", "presigned", "streamed", "buffered"] },
          yOffset: { field: "size", type: "nominal" },
          x: { field: "mibps", type: "quantitative", title: "MiB/s" },
          color: { field: "size", type: "nominal", title: "file size" },
        },
      },
    });
  }

  for (const c of charts) fs.writeFileSync(path.join(dir, c.file), await svg(c.spec));
  return charts.map(({ file, title }) => ({ file, title }));
}
