export { requireBinary } from "./binaries.js";
export { type BotOptions, ChatBot } from "./chat-bot.js";
export { type AuditedClient, auditDelivery, type DeliveryAudit } from "./delivery-audit.js";
export { type PodHandle, type PodOptions, SERVER_ENTRY, startPod } from "./pod.js";
export { type Managed, spawnManaged, stopProcess } from "./processes.js";
export { type RedisHandle, type RedisOptions, redisPing, startRedis } from "./redis.js";
export { type RedisClusterHandle, startRedisCluster } from "./redis-cluster.js";
export { loopbackLimits, type ServerEnv } from "./server-env.js";
export { delay, freePort, getJson, waitFor } from "./wait.js";
