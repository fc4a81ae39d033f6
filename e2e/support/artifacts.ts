import { fileURLToPath } from "node:url";

/** Where e2e runs keep their evidence (charts, cluster logs, reports): e2e/artifacts, git-ignored. */
export const ARTIFACTS_DIR = fileURLToPath(new URL("../artifacts", import.meta.url));
