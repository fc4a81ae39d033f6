import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root and the k8s/ package, wherever the tests are started from. */
export const K8S_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const REPO_DIR = join(K8S_DIR, "..");
export const repoPath = (...parts: string[]) => join(REPO_DIR, ...parts);
