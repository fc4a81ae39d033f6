import { pino } from "pino";
import type { Config } from "./config.js";

export type Logger = pino.Logger;

/** JSON lines on stdout, every line tagged with the pod, as log collectors on k8s expect. */
export const createLogger = (config: Pick<Config, "LOG_LEVEL" | "POD_NAME">): Logger =>
  pino({ level: config.LOG_LEVEL, base: { pod: config.POD_NAME } });
