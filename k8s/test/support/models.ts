import { join } from "node:path";
import ts from "typescript";
import type { K8sObject } from "./objects.js";
import { K8S_DIR } from "./paths.js";

/**
 * Offline validation of rendered objects against the Kubernetes API schemas, in two passes:
 *
 * 1. Values: the JSON schemas that kubernetes-models (and its CRD packages) generate from the
 *    Kubernetes OpenAPI spec and the CRDs: types, enums, formats (quantities, int-or-string),
 *    required fields.
 * 2. Field names: those schemas accept unknown fields, but the API server rejects them
 *    (kubectl's strict field validation), and a typo such as `readinessProbes` would otherwise
 *    pass silently. The same packages ship TypeScript interfaces for every object, so each
 *    field is looked up in them with the TypeScript compiler.
 */

/** Models package (group/version entry point) of an apiVersion. */
export function modelModule(apiVersion: string): string {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "") return `kubernetes-models/${version}`;
  const crdPackages: Record<string, string> = {
    "keda.sh": "@kubernetes-models/keda",
    "monitoring.coreos.com": "@kubernetes-models/prometheus-operator",
    "gateway.networking.k8s.io": "@kubernetes-models/gateway-api",
    "traefik.io": "@kubernetes-models/traefik",
    "cert-manager.io": "@kubernetes-models/cert-manager",
  };
  return `${crdPackages[group as string] ?? "kubernetes-models"}/${group}/${version}`;
}

type ModelClass = new (data: unknown) => { validate(): void };

/** Pass 1: the JSON schema of the object's kind. Returns the error messages (none if valid). */
export async function schemaErrors(obj: K8sObject): Promise<string[]> {
  const module = modelModule(obj.apiVersion);
  let exports: Record<string, unknown>;
  try {
    exports = (await import(module)) as Record<string, unknown>;
  } catch {
    return [`no schema package for ${obj.apiVersion} (looked for ${module})`];
  }
  const Model = exports[obj.kind] as ModelClass | undefined;
  if (typeof Model !== "function") return [`${module} has no schema for kind ${obj.kind}`];
  try {
    new Model(obj).validate();
    return [];
  } catch (err) {
    return String((err as Error).message)
      .split(/, (?=data)/)
      .map((m) => m.replace(/^data/, ""));
  }
}

/** Pass 2: every field name must exist in the kind's TypeScript interface. */
export class FieldChecker {
  private readonly checker: ts.TypeChecker;
  private readonly types = new Map<string, ts.Type>();

  /** Builds one TypeScript program declaring a variable of each kind's interface. */
  constructor(kinds: Array<{ apiVersion: string; kind: string }>) {
    const unique = [...new Map(kinds.map((k) => [`${k.apiVersion}|${k.kind}`, k])).values()];
    const lines = unique.map(
      (k, i) => `export declare const k${i}: import("${modelModule(k.apiVersion)}").I${k.kind};`,
    );
    // A virtual file inside k8s/, so that module resolution finds k8s/node_modules.
    const file = join(K8S_DIR, "test", "__field-check__.ts");
    const text = `${lines.join("\n")}\n`;
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      skipLibCheck: true,
      noEmit: true,
      types: [],
    };
    const host = ts.createCompilerHost(options);
    const getSourceFile = host.getSourceFile.bind(host);
    host.getSourceFile = (name, language, ...rest) =>
      name === file ? ts.createSourceFile(name, text, language) : getSourceFile(name, language, ...rest);
    host.fileExists = (name) => name === file || ts.sys.fileExists(name);
    host.readFile = (name) => (name === file ? text : ts.sys.readFile(name));
    const program = ts.createProgram([file], options, host);
    this.checker = program.getTypeChecker();
    const source = program.getSourceFile(file);
    if (!source) throw new Error("field checker: could not load its own source file");
    const declarations = source.statements.filter(ts.isVariableStatement);
    unique.forEach((k, i) => {
      const decl = declarations[i]?.declarationList.declarations[0];
      if (!decl) throw new Error(`field checker: no declaration for ${k.kind}`);
      const type = this.checker.getTypeAtLocation(decl.name);
      if (type.flags & ts.TypeFlags.Any) {
        throw new Error(`field checker: no TypeScript interface I${k.kind} in ${modelModule(k.apiVersion)}`);
      }
      this.types.set(`${k.apiVersion}|${k.kind}`, type);
    });
  }

  /** Paths of fields that the kind's API does not have. */
  unknownFields(obj: K8sObject): string[] {
    const type = this.types.get(`${obj.apiVersion}|${obj.kind}`);
    if (!type) throw new Error(`field checker: ${obj.apiVersion} ${obj.kind} was not declared up front`);
    const problems: string[] = [];
    this.walk(obj, type, "", problems);
    return problems;
  }

  private walk(value: unknown, declared: ts.Type, path: string, problems: string[]): void {
    if (value === null || typeof value !== "object") return;
    const type = this.checker.getNonNullableType(declared);
    if (type.flags & (ts.TypeFlags.Any | ts.TypeFlags.Unknown)) return;
    const members = (type.isUnion() ? type.types : [type]).filter((t) => t.flags & ts.TypeFlags.Object);
    if (members.length === 0) return;

    if (Array.isArray(value)) {
      const element = members
        .map((t) => this.checker.getIndexTypeOfType(t, ts.IndexKind.Number))
        .find((t): t is ts.Type => t !== undefined);
      if (element) {
        for (const [i, item] of value.entries()) this.walk(item, element, `${path}[${i}]`, problems);
      }
      return;
    }
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      const fieldType = this.fieldType(members, key);
      if (!fieldType) problems.push(`${childPath}: unknown field`);
      else this.walk(child, fieldType, childPath, problems);
    }
  }

  private fieldType(members: ts.Type[], key: string): ts.Type | undefined {
    for (const t of members) {
      const property = this.checker.getPropertyOfType(t, key);
      if (property) return this.checker.getTypeOfSymbol(property);
    }
    for (const t of members) {
      const index = this.checker.getIndexTypeOfType(t, ts.IndexKind.String);
      if (index) return index;
    }
    return undefined;
  }
}
