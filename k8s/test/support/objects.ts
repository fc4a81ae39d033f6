import { parseAllDocuments } from "yaml";

/** The fields every Kubernetes object has; the rest is checked against its schema. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

/** Parses a multi-document YAML stream (kustomize output) into objects. */
export function parseObjects(yamlText: string, source: string): K8sObject[] {
  return parseAllDocuments(yamlText).flatMap((doc, i) => {
    if (doc.errors.length > 0) throw new Error(`${source}: document ${i}: ${doc.errors[0]?.message}`);
    const value = doc.toJS() as unknown;
    if (value === null || value === undefined) return [];
    const obj = value as Partial<K8sObject>;
    if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string" || typeof obj.metadata?.name !== "string") {
      throw new Error(`${source}: document ${i} is not a Kubernetes object (apiVersion, kind, metadata.name)`);
    }
    return [obj as K8sObject];
  });
}

export const idOf = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/** The objects of one kind, typed as that kind's model interface (after schema validation). */
export function ofKind<T>(objects: K8sObject[], kind: string): T[] {
  return objects.filter((o) => o.kind === kind) as unknown as T[];
}

/** Exactly one object of that kind and name; throws with the list of what exists otherwise. */
export function one<T>(objects: K8sObject[], kind: string, name: string): T {
  const found = objects.filter((o) => o.kind === kind && o.metadata.name === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}/${name}, found ${found.length} among: ${objects.map(idOf).join(", ")}`);
  }
  return found[0] as unknown as T;
}
