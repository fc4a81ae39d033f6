#!/bin/sh
# Start redis as the master or as a replica of the master the Sentinels name. A pod that comes
# back after a failover must not start as a second master: it asks the Sentinels first, and only
# when none answers (the very first start) does redis-ha-0 begin as master.
set -eu
me="$(hostname).redis-ha"
master=""
for i in 0 1 2; do
  answer=$(redis-cli -h "redis-ha-$i.redis-ha" -p 26379 --raw SENTINEL get-master-addr-by-name mymaster 2>/dev/null | head -n 1 || true)
  if [ -n "$answer" ]; then master="$answer"; break; fi
done
if [ -z "$master" ]; then master="redis-ha-0.redis-ha"; fi
set -- /etc/redis-ha/redis.conf --replica-announce-ip "$me"
if [ "$master" != "$me" ]; then set -- "$@" --replicaof "$master" 6379; fi
exec redis-server "$@"
