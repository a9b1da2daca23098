import { AppError } from "../errors";

// Names are kept exactly as given (Unicode, spaces) unless they could not be a safe FTP file name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function checkFileName(name: string): string {
  const why = fileNameProblem(name);
  if (why) throw new AppError("invalid_file_name", why, { name });
  return name;
}

export function fileNameProblem(name: string): string | undefined {
  if (name.length === 0) return "File name is empty";
  if (name === "." || name === "..") return `"${name}" is not a file name`;
  if (name.includes("/") || name.includes("\\")) return "File name cannot contain / or \\";
  if (CONTROL.test(name)) return "File name cannot contain control characters";
  if (Buffer.byteLength(name, "utf8") > 255) return "File name is longer than 255 bytes";
  if (name.trim().length === 0) return "File name is only spaces";
  if (LONE_SURROGATE.test(name)) return "File name is not valid Unicode";
  return undefined;
}
