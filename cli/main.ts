import fs from "node:fs";
import { Command, CommanderError } from "commander";
import { loginCommand, logoutCommand, whoamiCommand } from "./commands/login";
import { shareCommand } from "./commands/share";
import { interruption } from "./context";
import { CliError, EXIT, Interrupted } from "./errors";

// The tempoftp command: commander parses, commands talk to the REST API v1, failures map to exit codes
// (2 usage, 3 authentication, 4 server refusal, 5 network, 130 Ctrl-C).

const pkg = JSON.parse(fs.readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version: string };

function program(): Command {
  const root = new Command("tempoftp")
    .description("Temporary, encrypted-at-rest file shares fetched over FTP/FTPS, from the command line")
    .version(pkg.version, "-v, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText(
      "after",
      `
Environment:
  TEMPOFTP_URL     the server (overrides the stored one)
  TEMPOFTP_TOKEN   an API token (overrides the stored one)

Exit codes: 0 ok, 1 other failure, 2 bad arguments, 3 authentication, 4 refused by the server,
5 network, 130 interrupted (Ctrl-C).

Examples:
  $ tempoftp login --url https://files.example.com
  $ tempoftp share create firmware.bin
  $ tempoftp share list --status active`,
    );
  root.addCommand(loginCommand());
  root.addCommand(logoutCommand());
  root.addCommand(whoamiCommand());
  root.addCommand(shareCommand());
  // Subcommands inherit the parser's settings: errors throw here instead of exiting with commander's code 1.
  const inherit = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.exitOverride().showHelpAfterError("(run with --help for usage)");
      inherit(sub);
    }
  };
  inherit(root);
  return root;
}

let signals = 0;
const onSignal = (signal: NodeJS.Signals) => {
  // The first one stops the work cleanly; a second one leaves at once.
  if (++signals > 1) process.exit(EXIT.interrupted);
  interruption.abort(signal);
};
process.on("SIGINT", onSignal);
process.on("SIGTERM", onSignal);

try {
  await program().parseAsync(process.argv);
  process.exitCode = EXIT.ok;
} catch (err) {
  process.exitCode = exitCodeOf(err);
}
// Keep-alive sockets and timers must not hold the process once the command is done.
process.exit(process.exitCode ?? 0);

function exitCodeOf(err: unknown): number {
  if (err instanceof CommanderError) {
    // commander printed its message already; help and version are successes, a missing subcommand is bad usage.
    return err.code === "commander.helpDisplayed" || err.code === "commander.version" ? EXIT.ok : EXIT.usage;
  }
  if (err instanceof Interrupted || interruption.signal.aborted) return EXIT.interrupted;
  if (err instanceof CliError) {
    process.stderr.write(`tempoftp: ${err.message}\n`);
    return err.exitCode;
  }
  process.stderr.write(`tempoftp: ${(err as Error)?.stack ?? String(err)}\n`);
  return EXIT.failure;
}
