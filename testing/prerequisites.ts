import { existsSync } from "node:fs";
import path from "node:path";

/** A program the suites need and the Debian packages that bring it. */
export interface Tool {
  program: string;
  packages: string;
}

export const TOOLS: Tool[] = [
  { program: "redis-server", packages: "redis-server" },
  { program: "chromium", packages: "chromium" },
  { program: "nginx", packages: "nginx-light" },
  { program: "tesseract", packages: "tesseract-ocr tesseract-ocr-eng" },
  { program: "pgbouncer", packages: "pgbouncer" },
  { program: "openssl", packages: "openssl" },
];

/** The tools not found on PATH (or in /usr/sbin, where Debian puts nginx and pgbouncer). */
export function missingTools(pathVar = process.env.PATH ?? "", exists: (file: string) => boolean = existsSync): Tool[] {
  const dirs = [...pathVar.split(":").filter(Boolean), "/usr/sbin"];
  return TOOLS.filter((tool) => !dirs.some((dir) => exists(path.join(dir, tool.program))));
}

/** The one line that says what is missing and the exact command that installs it. */
export function missingToolsMessage(missing: Tool[]): string {
  return `missing ${missing.map((t) => t.program).join(", ")}: install with \`sudo apt-get install -y ${missing.map((t) => t.packages).join(" ")}\`.`;
}
