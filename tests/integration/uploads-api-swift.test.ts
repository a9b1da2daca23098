import { useSwiftBucket } from "../s3/swift-env";

// The same flow against OpenStack Swift's S3 API, Swift started and env pointed at it before the app loads.
const swift = await useSwiftBucket("uploads", { corsOrigins: ["http://localhost:3000"] });

const { describeUploadApi } = await import("../uploads/api-suite");
describeUploadApi("OpenStack Swift", { partEtagCheck: true, endpoint: swift.endpoint });
