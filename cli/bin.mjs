#!/usr/bin/env node
// The `tempoftp` bin: runs the TypeScript CLI through tsx's loader in this process (no build step). It loads
// only cli/ and its own dependencies (commander, cli-progress), never the web app.
import { register } from "tsx/esm/api";

register();
await import("./main.ts");
