#!/bin/sh
# Start redis as the master or as a replica of the master the Sentinels name. A pod that comes
# back after a failover must not start as a second master: it asks the Sentinels first.
set -eu
. /scripts/find-master.sh
set -- /etc/redis-ha/redis.conf --replica-announce-ip "$me"
if [ "$master" != "$me" ]; then set -- "$@" --replicaof "$master" 6379; fi
exec redis-server "$@"
