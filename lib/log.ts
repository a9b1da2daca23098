import pino from "pino";
import pretty from "pino-pretty";
import { env } from "./env";

// Structured JSON logs; secrets are redacted by path so a careless log call cannot leak them.
const destination =
  env.LOG_FORMAT === "pretty"
    ? pretty({ colorize: process.stdout.isTTY, ignore: "pid,hostname,proc", translateTime: "SYS:HH:MM:ss", singleLine: true, sync: true })
    : undefined;

export const log = pino(
  {
  level: env.LOG_LEVEL,
  base: { proc: env.TEMPOFTP_PROCESS },
  redact: {
    paths: [
      "password",
      "MASTER_KEY",
      "*.MASTER_KEY",
      "RECEIPT_SIGNING_KEY",
      "*.RECEIPT_SIGNING_KEY",
      "*.password",
      "token",
      "*.token",
      "authorization",
      "*.authorization",
      "headers.authorization",
      "req.headers.authorization",
      "req.headers.cookie",
      "secret",
      "*.secret",
      "previousSecret",
      "*.previousSecret",
      "passwordHash",
      "*.passwordHash",
      "newPassword",
      "*.newPassword",
      "credentials.password",
      "*.credentials.password",
      "cookie",
      "*.cookie",
      "headers.cookie",
      "*.headers.cookie",
      "*.headers.authorization",
      "*.headers[\"set-cookie\"]",
      "secretAccessKey",
      "*.secretAccessKey",
      "*.credentials.secretAccessKey",
      "AUTH_SECRET",
      "*.AUTH_SECRET",
      "ADMIN_PASSWORD",
      "*.ADMIN_PASSWORD",
      "ADMIN_API_TOKEN",
      "*.ADMIN_API_TOKEN",
      "S3_SECRET_ACCESS_KEY",
      "*.S3_SECRET_ACCESS_KEY",
      "wrappedKey",
      "*.wrappedKey",
      "shareKey",
      "*.shareKey",
      "apiToken",
      "*.apiToken",
    ],
    censor: "[redacted]",
  },
  },
  destination,
);

export type Logger = typeof log;
