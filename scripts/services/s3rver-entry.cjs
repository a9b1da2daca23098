// Child-process entry for the embedded S3 server (run with --openssl-legacy-provider: its list
// continuation tokens use DES). Reads its options as JSON from argv[2]; prints "listening <port>" when up.
const S3rver = require("@20minutes/s3rver");

const opts = JSON.parse(process.argv[2]);
const xmlEscape = (s) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const cors = (origins) =>
  `<CORSConfiguration><CORSRule>${origins.map((o) => `<AllowedOrigin>${xmlEscape(o)}</AllowedOrigin>`).join("")}` +
  "<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod><AllowedMethod>HEAD</AllowedMethod>" +
  "<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds>" +
  "</CORSRule></CORSConfiguration>";

const server = new S3rver({
  address: opts.host,
  port: opts.port,
  directory: opts.directory,
  silent: !opts.verbose,
  // Path-style only: virtual-host buckets would need DNS for *.localhost.
  vhostBuckets: false,
  allowMismatchedSignatures: false,
  configureBuckets: opts.buckets.map((name) => ({ name, configs: opts.corsOrigins.length ? [cors(opts.corsOrigins)] : [] })),
});

// s3rver verifies signatures but lets unsigned requests through as anonymous; a private bucket on real S3
// refuses them, so do the same (CORS preflights carry no credentials by design).
const signed = (ctx) =>
  ctx.method === "OPTIONS" || "authorization" in ctx.headers || "X-Amz-Algorithm" in ctx.query || "Signature" in ctx.query;
server.middleware.unshift(async (ctx, next) => {
  if (signed(ctx)) return next();
  ctx.status = 403;
  ctx.type = "application/xml";
  ctx.body =
    '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>';
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // close() waits for keep-alive sockets; do not let them hold the exit.
  setTimeout(() => process.exit(0), 2000).unref();
  server.close().finally(() => process.exit(0));
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);

// Exit with the process that started us, even when it dies without calling stop().
const parent = process.ppid;
setInterval(() => process.ppid !== parent && stop(), 1000).unref();

server.run().then(
  (addr) => console.log(`listening ${addr.port}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
