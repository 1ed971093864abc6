// The programs' IDL (the repository's idl/, built by Anchor's IDL builder and checked current by
// .ci/run) copied into src/idl/ for the build: the package never carries a stale copy.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "..", "src", "idl");
mkdirSync(out, { recursive: true });
for (const program of ["registry", "challenge"]) {
  copyFileSync(join(here, "..", "..", "..", "idl", `${program}.json`), join(out, `${program}.json`));
}
