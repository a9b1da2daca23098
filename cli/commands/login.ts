import { Command } from "commander";
import { Api } from "../api";
import { configPath, normalizeUrl, readConfig, serverUrl, writeConfig } from "../config";
import { api } from "../context";
import { CliError, EXIT, usage } from "../errors";
import { printJson } from "../output";

// `tempoftp login`: takes an API token (typed without echo, or from stdin), checks it, and stores it privately.

async function readStdin(): Promise<string> {
  let text = "";
  for await (const chunk of process.stdin) text += chunk;
  return text;
}

/** Reads a line from the terminal without echoing it. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(question);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding("utf8");
    let value = "";
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.off("data", onData);
      process.stderr.write("\n");
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") return done();
        if (ch === "\u0003") return done(new CliError(EXIT.interrupted, "Login cancelled"));
        if (ch === "\u007f" || ch === "\b") value = value.slice(0, -1);
        else if (ch >= " ") value += ch;
      }
    };
    stdin.on("data", onData);
  });
}

export function loginCommand(): Command {
  return new Command("login")
    .description("Store an API token for a tempoftp server (in ~/.config/tempoftp/config.json, mode 0600)")
    .option("--url <url>", "the server's address (default: TEMPOFTP_URL, the stored URL, or http://localhost:3000)")
    .option("--token-stdin", "read the token from standard input instead of prompting")
    .addHelpText(
      "after",
      `
The token is checked with the server before it is stored. TEMPOFTP_URL and TEMPOFTP_TOKEN, when set, override
the stored values (handy in CI and cron). Create a token in the web app (or use ADMIN_API_TOKEN).

Examples:
  $ tempoftp login --url https://files.example.com
  $ echo "$TEMPOFTP_TOKEN" | tempoftp login --url https://files.example.com --token-stdin`,
    )
    .action(async (opts: { url?: string; tokenStdin?: boolean }) => {
      const url = opts.url ? normalizeUrl(opts.url, "--url") : serverUrl();
      let token: string;
      if (opts.tokenStdin) token = (await readStdin()).trim();
      else if (process.stdin.isTTY) token = (await promptHidden(`API token for ${url}: `)).trim();
      else throw usage("No terminal to ask for the token: pipe it in with --token-stdin");
      if (!token) throw usage("The token is empty");
      if (/\s/.test(token)) throw usage("The token holds whitespace: paste it exactly as shown");
      const { user } = await new Api({ url, token }).me();
      writeConfig({ ...readConfig(), url, token });
      process.stderr.write(`Logged in to ${url} as ${user.email} (${user.role}); token stored in ${configPath()}\n`);
    });
}

export function logoutCommand(): Command {
  return new Command("logout").description("Forget the stored token").action(() => {
    const { url } = readConfig();
    writeConfig(url ? { url } : {});
    process.stderr.write(`Token removed from ${configPath()}\n`);
  });
}

export function whoamiCommand(): Command {
  return new Command("whoami")
    .description("Show the server and the account the token belongs to")
    .option("--json", "print the account as JSON")
    .action(async (opts: { json?: boolean }) => {
      const client = api();
      const me = await client.me();
      if (opts.json) printJson({ url: client.target.url, ...me });
      else process.stdout.write(`${me.user.email} (${me.user.role}) on ${client.target.url}\n`);
    });
}
