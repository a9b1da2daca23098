// A share is one flat directory: "/" and the files in it. Nothing else exists and nothing leaves it.

export type Target = { kind: "root" } | { kind: "file"; name: string } | { kind: "invalid" };

const ROOT_FORMS = new Set(["", "/", ".", "./", "/."]);

/** "name", "/name" and "./name" address a file; anything with another slash, "..", or a NUL is invalid. */
export function resolvePath(arg: string): Target {
  if (arg.includes("\0")) return { kind: "invalid" };
  if (ROOT_FORMS.has(arg)) return { kind: "root" };
  let name = arg;
  if (name.startsWith("./")) name = name.slice(2);
  else if (name.startsWith("/")) name = name.slice(1);
  if (name === "" || name === "." || name === ".." || name.includes("/")) return { kind: "invalid" };
  return { kind: "file", name };
}

/** CWD targets: the root in any spelling, and ".." / "/.." which stay at the root as in a chroot. */
export function isRootDir(arg: string): boolean {
  return ROOT_FORMS.has(arg) || arg === ".." || arg === "/.." || arg === "../" || arg === "/../";
}

/** Names a client cannot address or that would break a reply line are not shown at all. */
export function isServableName(name: string): boolean {
  return name.length > 0 && name !== "." && name !== ".." && !/[\/\0\r\n]/.test(name);
}

/** LIST/NLST/STAT arguments: leading "-la"-style options are ls flags, not paths. */
export function stripListOptions(arg: string): string {
  let rest = arg.trim();
  while (rest.startsWith("-")) {
    const sp = rest.indexOf(" ");
    rest = sp < 0 ? "" : rest.slice(sp + 1).trimStart();
  }
  return rest;
}
