#!/bin/sh
# Container command of the mosquitto service: make the password file from the environment,
# copy the ACL beside it (owned by mosquitto, mode 0600, as mosquitto 2.0.16+ wants), then run
# the broker in the foreground with the repository's configuration.
set -eu
mkdir -p /mosquitto/auth
sh /perimeter-deploy/make-passwd.sh /mosquitto/auth/passwd
cp /perimeter-deploy/acl /mosquitto/auth/acl
chown mosquitto:mosquitto /mosquitto/auth/acl
chmod 0600 /mosquitto/auth/acl
exec /usr/sbin/mosquitto -c /perimeter-deploy/mosquitto.conf
