export {};
// Its own Redis database: the worker this file starts must not take other test files' jobs.
const url = new URL(process.env.REDIS_URL!);
url.pathname = "/1";
process.env.REDIS_URL = url.toString();

const { describeProcessing } = await import("../processing/suite");
// The embedded server cannot list multipart uploads (501), so that check runs on Swift.
describeProcessing("embedded S3", { endpoint: process.env.S3_ENDPOINT!, listMultipartUploads: false });
