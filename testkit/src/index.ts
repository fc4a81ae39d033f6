export { requireBinary } from "./binaries.js";
export { type BotOptions, ChatBot } from "./chat-bot.js";
export { LOOSE_LIMITS, type PodHandle, type PodOptions, SERVER_ENTRY, startPod } from "./pod.js";
export { type Managed, spawnManaged, stopProcess } from "./processes.js";
export { type RedisHandle, type RedisOptions, redisPing, startRedis } from "./redis.js";
export { type RedisClusterHandle, startRedisCluster } from "./redis-cluster.js";
export { type RedisSentinelHandle, type RedisSentinelOptions, startRedisSentinel } from "./redis-sentinel.js";
export { delay, freePort, getJson, waitFor } from "./wait.js";
