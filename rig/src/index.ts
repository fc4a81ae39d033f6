export { type ChartInput, type ClientTrack, renderChart, type Series } from "./chart.js";
export { type ClusterEvent, type ClusterEventType, ClusterLog, formatEvent } from "./cluster-log.js";
export { type ChartOptions, type LineMarker, type LineSeries, lineChart } from "./line-chart.js";
export { DEFAULT_OVERLAY, type DeploymentModel, loadDeployment, parseDeployment, REPO_ROOT } from "./manifest.js";
export { type AppliedOverride, FAST, mergeOverrides, type RigOverrides } from "./overrides.js";
export type { PodPhase, PodProcess } from "./pod.js";
export { type PodStatus, RIG_LOGS_DIR, type Rig, type RigOptions, startRig } from "./rig.js";
