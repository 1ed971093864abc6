// The programs' IDL (the repository's idl/, built by Anchor's IDL builder and checked current by
// .ci/run) copied into src/idl/ for the build: the package never carries a stale copy. Each file
// is replaced atomically (written aside, then renamed), so a bundler reading src/idl/ meanwhile
// never sees a half-written file.
import { copyFileSync, mkdirSync, renameSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "idl");
mkdirSync(out, { recursive: true });
for (const program of ["registry", "challenge"]) {
  const target = join(out, `${program}.json`);
  const aside = `${target}.${process.pid}.tmp`;
  copyFileSync(join(here, "..", "..", "..", "idl", `${program}.json`), aside);
  renameSync(aside, target);
}
