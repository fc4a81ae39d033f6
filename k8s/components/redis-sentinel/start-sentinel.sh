#!/bin/sh
# Sentinel rewrites its config file as it learns the topology, so it gets a writable copy in an
# emptyDir. Hostnames (not pod IPs, which change on restart) are what it announces and reports.
set -eu
me="$(hostname).redis-ha"
master=""
for i in 0 1 2; do
  answer=$(redis-cli -h "redis-ha-$i.redis-ha" -p 26379 --raw SENTINEL get-master-addr-by-name mymaster 2>/dev/null | head -n 1 || true)
  if [ -n "$answer" ]; then master="$answer"; break; fi
done
if [ -z "$master" ]; then master="redis-ha-0.redis-ha"; fi
# The master's name must resolve before Sentinel accepts the monitor line.
until redis-cli -h "$master" -p 6379 ping >/dev/null 2>&1; do sleep 1; done
cat > /sentinel/sentinel.conf <<CONF
port 26379
sentinel resolve-hostnames yes
sentinel announce-hostnames yes
sentinel announce-ip $me
sentinel monitor mymaster $master 6379 2
sentinel down-after-milliseconds mymaster 5000
sentinel failover-timeout mymaster 30000
sentinel parallel-syncs mymaster 1
CONF
exec redis-server /sentinel/sentinel.conf --sentinel
