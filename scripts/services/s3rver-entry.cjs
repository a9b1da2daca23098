// Child-process entry for the embedded S3 server (run with --openssl-legacy-provider: its list
// continuation tokens use DES). Reads its options as JSON from argv[2]; prints "listening <port>" when up.
const S3rver = require("@20minutes/s3rver");

const opts = JSON.parse(process.argv[2]);
const cors = (origins) =>
  `<CORSConfiguration><CORSRule>${origins.map((o) => `<AllowedOrigin>${o}</AllowedOrigin>`).join("")}` +
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

server.run().then(
  (addr) => console.log(`listening ${addr.port}`),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
const stop = () => server.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
