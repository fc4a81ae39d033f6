#!/bin/sh
# Sentinel rewrites its config file as it learns the topology, so it gets a writable copy in an
# emptyDir. Hostnames (not pod IPs, which change on restart) are what it announces and reports.
set -eu
. /scripts/find-master.sh
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
