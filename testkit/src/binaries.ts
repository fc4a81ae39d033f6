import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";

/** Absolute path of a system binary, or an error that names the Debian package to install. */
export function requireBinary(name: string, debianPackage: string): string {
  const dirs = [...(process.env.PATH ?? "").split(delimiter), "/usr/sbin", "/usr/bin", "/sbin"];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {}
  }
  throw new Error(
    `${name} not found: install the Debian package '${debianPackage}' (apt-get install -y ${debianPackage})`,
  );
}
