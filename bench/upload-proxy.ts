// A child of bench/upload.ts, never a route of the product: what a naive app server does when uploads pass through
// it, so the benchmark can weigh the presigned design against it on the same storage.
//   PUT /buffered/<key>: the whole body collected in memory, then one PutObject (the simplest handler there is);
//   PUT /streamed/<key>: the body piped into @aws-sdk/lib-storage's Upload (multipart, 8 MiB parts, 4 at a time).
// Argument: JSON {port, endpoint, bucket, accessKeyId, secretAccessKey}. Prints "listening" when ready.
import http from "node:http";
import { PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

type Config = { port: number; endpoint: string; bucket: string; accessKeyId: string; secretAccessKey: string };
const config = JSON.parse(process.argv[2] ?? "{}") as Config;
const s3 = new S3Client({
  endpoint: config.endpoint,
  region: "us-east-1",
  forcePathStyle: true,
  credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
});

async function buffered(req: http.IncomingMessage, key: string) {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, ContentLength: body.length }));
}

async function streamed(req: http.IncomingMessage, key: string) {
  await new Upload({ client: s3, params: { Bucket: config.bucket, Key: key, Body: req }, partSize: 8 * 1024 * 1024, queueSize: 4 }).done();
}

const server = http.createServer((req, res) => {
  const m = /^\/(buffered|streamed)\/([\w./-]+)$/.exec(req.url ?? "");
  if (req.method !== "PUT" || !m) {
    res.writeHead(404).end();
    return;
  }
  (m[1] === "buffered" ? buffered : streamed)(req, m[2]!).then(
    () => res.writeHead(201).end(),
    (err: unknown) => res.writeHead(500).end(String(err)),
  );
});
server.requestTimeout = 0;
server.listen(config.port, "127.0.0.1", () => console.log("listening"));
