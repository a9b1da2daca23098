import { useSwiftBucket } from "../s3/swift-env";

// The same against OpenStack Swift, in its own Redis database; env is set before the app's modules load.
const url = new URL(process.env.REDIS_URL!);
url.pathname = "/2";
const swift = await useSwiftBucket("processing", { env: { REDIS_URL: url.toString() } });

const { describeProcessing } = await import("../processing/suite");
describeProcessing("OpenStack Swift", { endpoint: swift.endpoint, listMultipartUploads: true });
