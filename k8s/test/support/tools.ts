import { execFile, execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Path of a system binary on PATH (or in the sbin directories, which a non-root PATH lacks). */
export function which(binary: string): string | undefined {
  try {
    return execFileSync("sh", ["-c", `command -v ${binary}`], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return ["/usr/sbin", "/usr/local/sbin"].map((dir) => `${dir}/${binary}`).find((path) => existsSync(path));
  }
}

/**
 * kubectl (with its built-in kustomize) renders the manifests. Its absence is a failure, not a
 * skip: without it nothing in k8s/ is checked at all.
 */
export function requireKubectl(): string {
  const kubectl = which("kubectl");
  if (!kubectl) {
    throw new Error(
      "kubectl is not installed: the k8s tests render the manifests with `kubectl kustomize`. " +
        "Install kubectl >= 1.27 (https://kubernetes.io/docs/tasks/tools/; Debian's own `kubernetes-client` package " +
        "is 1.20, whose kustomize is too old for these manifests) and run the tests again.",
    );
  }
  return kubectl;
}

/** `kubectl kustomize <dir>`: the YAML stream, or an error carrying kustomize's own message. */
export async function kustomize(dir: string): Promise<string> {
  const kubectl = requireKubectl();
  try {
    const { stdout } = await run(kubectl, ["kustomize", dir], { maxBuffer: 32 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`kubectl kustomize ${dir} failed:\n${stderr}`);
  }
}

/** Runs `jobs` with at most `limit` in flight: the CI machine has two cores. */
export async function mapLimit<T, R>(items: T[], limit: number, job: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await job(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
