#!/bin/sh
# Container command of the mosquitto service: make the password file from the environment,
# then run the broker in the foreground with the repository's configuration.
set -eu
mkdir -p /mosquitto/auth
sh /perimeter-deploy/make-passwd.sh /mosquitto/auth/passwd
exec /usr/sbin/mosquitto -c /perimeter-deploy/mosquitto.conf
