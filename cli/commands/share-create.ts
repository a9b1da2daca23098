import path from "node:path";
import { Command, Option } from "commander";
import { formatBytes } from "../../lib/format";
import type { Credentials, Share } from "../api";
import { collectFiles, parseCidr, parseDuration, parsePositiveInt } from "../args";
import { api } from "../context";
import { CliError, EXIT, Interrupted, usage } from "../errors";
import { printCredentials, printJson, shq } from "../output";
import { createReporter, reporterMode } from "../progress";
import { uploadFiles } from "../upload";
import { waitUntilReady } from "../wait";

// `tempoftp share create`: a share from files or a directory, uploaded straight to storage, sealed, followed
// until ready; the credentials (shown once) on stdout.

type CreateOptions = {
  name?: string;
  expires?: number;
  maxDownloads?: number;
  requireTls?: boolean;
  allowIp?: string[];
  wait: boolean;
  json?: boolean;
  quiet?: boolean;
  resume?: string;
  concurrency: number;
};

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function shareId(raw: string): string {
  if (!UUID.test(raw.trim())) throw usage(`"${raw}" is not a share id (a UUID such as 0b6e9c3a-…; see "tempoftp share list")`);
  return raw.trim().toLowerCase();
}

const resumeHint = (id: string, paths: string[]) => `tempoftp share create --resume ${id} ${paths.map(shq).join(" ")}`;

function defaultName(paths: string[], count: number): string {
  const first = path.basename(path.resolve(paths[0]!)) || "files";
  return paths.length === 1 ? first : `${first} and ${count - 1} more`;
}

async function openShare(opts: CreateOptions, paths: string[], count: number, warn: (m: string) => void): Promise<Share> {
  const client = api();
  if (!opts.resume) {
    return client.createShare({
      name: opts.name ?? defaultName(paths, count),
      expiresInSeconds: opts.expires,
      maxDownloads: opts.maxDownloads,
      requireTls: opts.requireTls,
      allowedIps: opts.allowIp,
    });
  }
  const given = (["name", "expires", "maxDownloads", "requireTls"] as const).filter((k) => opts[k] !== undefined);
  if (given.length || opts.allowIp) warn("--resume continues the existing share: its name, expiry and limits stay as they are");
  const share = await client.share(opts.resume);
  if (share.status === "open") return share;
  const hint = share.status === "processing" || share.status === "ready" ? `; it was sealed already (its password was shown then): follow it with "tempoftp share wait ${share.id}"` : "";
  throw new CliError(EXIT.refused, `Share ${share.id} is ${share.status} and takes no more files${hint}`, "share_not_open");
}

async function run(paths: string[], opts: CreateOptions): Promise<void> {
  const files = collectFiles(paths);
  const totalBytes = files.reduce((sum, f) => sum + f.size, 0);
  const client = api();
  const mode = reporterMode(opts);
  const note = (m: string) => mode !== "quiet" && process.stderr.write(`${m}\n`);
  const signal = client.signal;

  const share = await openShare(opts, paths, files.length, note);
  note(`${opts.resume ? "Resuming" : "Created"} share ${share.id} (${files.length} files, ${formatBytes(totalBytes)}). If interrupted, continue with:\n  ${resumeHint(share.id, paths)}`);

  const reporter = createReporter(mode, totalBytes);
  let sealed: { share: Share; credentials: Credentials };
  try {
    await uploadFiles(client, share, files, { concurrency: opts.concurrency, signal, reporter });
    sealed = await client.seal(share.id);
  } catch (err) {
    reporter.stop();
    if (err instanceof Interrupted) {
      note(`\nInterrupted. The parts stored so far are kept; continue with:\n  ${resumeHint(share.id, paths)}`);
      throw err;
    }
    if (err instanceof CliError) note(`Stopped; after fixing this, continue with:\n  ${resumeHint(share.id, paths)}`);
    throw err;
  }

  let final = sealed.share;
  const show = (s: Share, c: Credentials) => (opts.json ? printJson({ share: s, credentials: c }) : printCredentials(s, c, client.target.url));
  if (opts.wait && final.status !== "ready") {
    try {
      final = await waitUntilReady(client, share.id, signal, reporter);
    } catch (err) {
      reporter.stop();
      // The password exists only in this process now: it is printed before anything else happens.
      show(final, sealed.credentials);
      if (err instanceof Interrupted) note(`\nInterrupted while the server processes the files; follow it with:\n  tempoftp share wait ${share.id}`);
      throw err;
    }
  }
  reporter.stop();
  show(final, sealed.credentials);
}

export function shareCreateCommand(): Command {
  return new Command("create")
    .description("Create a share from files or a directory: upload, seal, wait until ready, print the FTP credentials")
    .argument("<paths...>", "files, or a directory (its files, recursively)")
    .option("--name <name>", "the share's name (default: the file's or directory's name)")
    .option("--expires <duration>", "time until the share expires: 90m, 24h, 7d, 1d12h, or seconds (default 24h)", (v) => parseDuration(v, "--expires"))
    .option("--max-downloads <n>", "end the share after this many completed downloads", (v) => parsePositiveInt(v, "--max-downloads"))
    .option("--require-tls", "refuse plain FTP logins (FTPS only)")
    .option("--allow-ip <cidr>", "allow FTP logins only from this address or range (repeatable)", (v, prev?: string[]) => [...(prev ?? []), parseCidr(v)])
    .option("--no-wait", "print the credentials right after sealing, without waiting for processing")
    .option("--resume <share-id>", "continue an interrupted create: send only what the share lacks", shareId)
    .addOption(new Option("--concurrency <n>", "parts uploaded in parallel").default(4).argParser((v) => parsePositiveInt(v, "--concurrency", 64)))
    .option("--json", 'print only {"share": …, "credentials": …} as JSON on stdout')
    .option("-q, --quiet", "no progress output on stderr")
    .addHelpText(
      "after",
      `
Files go straight from this machine to storage over presigned URLs (the server never carries the bytes).
Progress bars appear on stderr only when stdout and stderr are terminals. Ctrl-C stops the upload and prints
the command that continues it; parts already stored are not sent again.

Examples:
  $ tempoftp share create firmware-1.4.2.bin
  $ tempoftp share create --name "Nightly backup" --expires 7d --max-downloads 3 ./backup/
  $ tempoftp share create --require-tls --allow-ip 203.0.113.0/24 image.iso checksums.txt
  $ tempoftp share create --json build/*.zip | jq -r .credentials.password
  $ tempoftp share create --resume 0b6e9c3a-5d1f-4c2e-9a7b-1f2e3d4c5b6a build/*.zip`,
    )
    .action((paths: string[], opts: CreateOptions) => run(paths, opts));
}
