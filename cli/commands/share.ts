import readline from "node:readline/promises";
import { Command, Option } from "commander";
import { formatUtc } from "../../lib/format";
import type { Share } from "../api";
import { parseDuration } from "../args";
import { api } from "../context";
import { usage } from "../errors";
import { followShareEvents, type ShareEvent } from "../events";
import { printJson, printShare, printShareList } from "../output";
import { createReporter, reporterMode } from "../progress";
import { waitUntilReady } from "../wait";
import { shareCreateCommand, shareId } from "./share-create";

// `tempoftp share …`: everything but create, each one REST call (or the event stream).

const jsonOption = () => new Option("--json", "print JSON on stdout");
/** `--json` prints the value as JSON, otherwise the human form. */
const show = <T>(json: boolean | undefined, value: T, human: (v: T) => void) => (json ? printJson(value) : human(value));
const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join("\n")}`;

/** One line per event: time, type, then its fields (file ids shown as names when known). */
function eventLine(e: ShareEvent, names: Map<string, string>): string {
  const { type, at, shareId: _share, ...fields } = e as ShareEvent & Record<string, unknown>;
  const parts = Object.entries(fields).map(([k, v]) => (k === "fileId" && names.has(String(v)) ? `file=${JSON.stringify(names.get(String(v)))}` : `${k}=${typeof v === "string" ? JSON.stringify(v) : String(v)}`));
  return [formatUtc(new Date(at), true), type, ...parts].join("  ");
}

async function confirm(question: string): Promise<boolean> {
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

export function shareCommand(): Command {
  const share = new Command("share").description("Create, list, follow, extend and revoke shares");
  share.addCommand(shareCreateCommand());

  share
    .command("list")
    .description("List your shares (every share for an admin)")
    .addOption(new Option("--status <status>", "which shares").choices(["active", "all"]).default("all"))
    .addOption(jsonOption())
    .addHelpText("after", examples(["tempoftp share list --status active", "tempoftp share list --json | jq -r '.shares[] | select(.status==\"ready\") | .id'"]))
    .action(async (opts: { status: "active" | "all"; json?: boolean }) => {
      show(opts.json, await api().listShares(opts.status), ({ shares }) => printShareList(shares));
    });

  share
    .command("show")
    .description("Show a share, its files and their checksums")
    .argument("<id>", "the share's id", shareId)
    .addOption(jsonOption())
    .addHelpText("after", examples(["tempoftp share show 0b6e9c3a-5d1f-4c2e-9a7b-1f2e3d4c5b6a", "tempoftp share show $ID --json | jq '.files[] | {name, sha256}'"]))
    .action(async (id: string, opts: { json?: boolean }) => {
      show(opts.json, await api().share(id), printShare);
    });

  share
    .command("wait")
    .description("Wait until a share is ready (exit 0), or has failed or ended (exit 4)")
    .argument("<id>", "the share's id", shareId)
    .addOption(jsonOption())
    .option("-q, --quiet", "no progress output on stderr")
    .addHelpText("after", examples(["tempoftp share create --no-wait --json big.iso > share.json && tempoftp share wait $(jq -r .share.id share.json)"]))
    .action(async (id: string, opts: { json?: boolean; quiet?: boolean }) => {
      const client = api();
      const reporter = createReporter(reporterMode(opts), 0);
      let s: Share;
      try {
        s = await waitUntilReady(client, id, client.signal, reporter);
      } finally {
        reporter.stop();
      }
      show(opts.json, s, printShare);
    });

  share
    .command("extend")
    .description("Set a live share to expire this long from now")
    .argument("<id>", "the share's id", shareId)
    .argument("<duration>", "e.g. 48h, 7d, 90m, or seconds", (v) => parseDuration(v, "duration"))
    .addOption(jsonOption())
    .addHelpText("after", examples(["tempoftp share extend $ID 48h", "tempoftp share extend $ID 7d --json | jq -r .expiresAt"]))
    .action(async (id: string, seconds: number, opts: { json?: boolean }) => {
      show(opts.json, await api().extend(id, seconds), (s) => process.stdout.write(`Share ${s.id} now expires ${formatUtc(new Date(s.expiresAt))}\n`));
    });

  share
    .command("revoke")
    .description("End a share now: its credentials stop working and its files are destroyed")
    .argument("<id>", "the share's id", shareId)
    .option("-y, --yes", "do not ask for confirmation (required when not on a terminal)")
    .addOption(jsonOption())
    .addHelpText("after", examples(["tempoftp share revoke $ID", "tempoftp share revoke $ID --yes   # in scripts"]))
    .action(async (id: string, opts: { yes?: boolean; json?: boolean }) => {
      const client = api();
      if (!opts.yes) {
        if (!process.stdin.isTTY) throw usage("Revoking destroys the share's files: pass --yes to confirm when not on a terminal");
        const s = await client.share(id);
        if (!(await confirm(`Revoke "${s.name}" (${id})? Its files are destroyed. [y/N] `))) throw usage("Not revoked");
      }
      show(opts.json, await client.revoke(id), (s) => process.stdout.write(`Share ${s.id} revoked: its credentials no longer work and its files are being destroyed\n`));
    });

  share
    .command("events")
    .description("Print a share's live events, one line each (or JSON lines), until it is destroyed or Ctrl-C")
    .argument("<id>", "the share's id", shareId)
    .option("--json", "one JSON object per line (the stream's own events)")
    .addHelpText("after", examples(["tempoftp share events $ID", "tempoftp share events $ID --json | jq -c 'select(.type==\"share.download\")'"]))
    .action(async (id: string, opts: { json?: boolean }) => {
      const client = api();
      const names = new Map<string, string>();
      await followShareEvents(
        client,
        id,
        client.signal,
        (e) => {
          if (e.type === "file.declared") names.set(e.fileId, e.name);
          process.stdout.write(`${opts.json ? JSON.stringify(e) : eventLine(e, names)}\n`);
          return e.type === "share.destroyed";
        },
        async () => {
          const s = await client.share(id);
          for (const f of s.files) names.set(f.id, f.name);
          if (s.destroyedAt) process.stderr.write(`Share ${id} has ended (${s.status}) and nothing of it is left: no more events\n`);
          else process.stderr.write(`Following share ${id} "${s.name}" (${s.status}); Ctrl-C to stop\n`);
          return Boolean(s.destroyedAt);
        },
      );
    });

  return share;
}
