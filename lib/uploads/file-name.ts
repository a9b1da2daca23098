import { AppError } from "../errors";
import { CHECKSUMS_NAME } from "../ftp/checksums";

// Names are kept as given (Unicode, spaces) once normalized to NFC, unless they could not be a safe FTP file name
// or could show one thing while being another (bidi overrides, invisible characters).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
// Bidi embeddings, overrides, isolates and marks: they reorder what a listing shows (`invoice\u202Efdp.exe`).
const BIDI = /[\u202A-\u202E\u2066-\u2069\u200E\u200F\u061C]/;
// Invisible format characters: two names that look alike would be different files (zero-width space, joiners,
// word joiner, BOM, soft hyphen, Mongolian vowel separator, invisible operators, interlinear annotations, tags).
const INVISIBLE = /[\u00AD\u180E\u200B-\u200D\u2060-\u2064\u206A-\u206F\uFEFF\uFFF9-\uFFFB]|\uDB40[\uDC00-\uDC7F]/;

/** The name as stored (NFC) when it is acceptable; an `invalid_file_name` error saying why when not. */
export function checkFileName(name: string): string {
  const why = fileNameProblem(name);
  if (why) throw new AppError("invalid_file_name", why, { name });
  return name.normalize("NFC");
}

export function fileNameProblem(name: string): string | undefined {
  if (name.length === 0) return "File name is empty";
  // Checked first: String.prototype.normalize keeps a lone surrogate, and every later rule wants real text.
  if (LONE_SURROGATE.test(name)) return "File name is not valid Unicode";
  const nfc = name.normalize("NFC");
  if (nfc === "." || nfc === "..") return `"${nfc}" is not a file name`;
  if (nfc.includes("/") || nfc.includes("\\")) return "File name cannot contain / or \\";
  if (CONTROL.test(nfc)) return "File name cannot contain control characters";
  if (BIDI.test(nfc)) return "File name cannot contain bidirectional control characters (they disguise the real name)";
  if (INVISIBLE.test(nfc)) return "File name cannot contain invisible characters such as zero-width spaces";
  if (Buffer.byteLength(nfc, "utf8") > 255) return "File name is longer than 255 bytes";
  if (nfc.trim().length === 0) return "File name is only spaces";
  // Every share's FTP folder lists its checksums under this name; any case, so a Windows download cannot clobber it.
  if (nfc.toUpperCase() === CHECKSUMS_NAME) return `"${nfc}" is reserved: each share's FTP folder already has a ${CHECKSUMS_NAME} file with the SHA-256 of its files`;
  return undefined;
}
