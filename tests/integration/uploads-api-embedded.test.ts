import { describeUploadApi } from "../uploads/api-suite";

// Against the embedded S3 server (started by the global setup). It accepts any part ETag, so that case runs on Swift.
describeUploadApi("embedded S3", { partEtagCheck: false, endpoint: process.env.S3_ENDPOINT! });
