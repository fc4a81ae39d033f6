#!/bin/sh
# Sourced by start-redis.sh and start-sentinel.sh: sets $me (this pod's stable name) and $master
# (the master the Sentinels name; redis-ha-0 when none answers, i.e. on the very first start).
me="$(hostname).redis-ha"
master=""
for i in 0 1 2; do
  answer=$(redis-cli -h "redis-ha-$i.redis-ha" -p 26379 --raw SENTINEL get-master-addr-by-name mymaster 2>/dev/null | head -n 1 || true)
  if [ -n "$answer" ]; then master="$answer"; break; fi
done
if [ -z "$master" ]; then master="redis-ha-0.redis-ha"; fi
