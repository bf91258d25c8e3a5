#!/bin/sh
# Write a mosquitto password file: one login per tower and one per service role.
#   towers:   each tower id in MQTT_TOWER_IDS logs in as itself, with the password derived from
#             MQTT_TOWERS_SECRET: the hex SHA-256 of "<secret>:<tower id>" (the tower publisher
#             derives the same, perimeter.access.tower_password);
#   services: fusion, api and health with MQTT_FUSION_PASSWORD, MQTT_API_PASSWORD and
#             MQTT_HEALTH_PASSWORD.
# Usage: make-passwd.sh OUTPUT_FILE
# Any password works (spaces, ':' and quotes included) except one with a line break.
set -eu

out="${1:?usage: make-passwd.sh OUTPUT_FILE}"
umask 077
tmp="${out}.tmp.$$"
trap 'rm -f "$tmp"' EXIT
: > "$tmp"

value_of() {  # value_of VARIABLE: its value; exits 2 when it is empty, unset or multi-line
    eval "value=\${$1:-}"
    if [ -z "$value" ]; then
        echo "make-passwd.sh: $1 is empty or unset: set it in .env (see .env.example)" >&2
        exit 2
    fi
    case "$value" in
        *"
"*) echo "make-passwd.sh: $1 must be a single line" >&2; exit 2 ;;
    esac
    printf '%s' "$value"
}

towers_secret=$(value_of MQTT_TOWERS_SECRET)
fusion_password=$(value_of MQTT_FUSION_PASSWORD)
api_password=$(value_of MQTT_API_PASSWORD)
health_password=$(value_of MQTT_HEALTH_PASSWORD)
tower_ids="${MQTT_TOWER_IDS:-T01 T02 T03 T04 T05 T06 T07 T08 T09 T10 T11 T12}"

for tower in $tower_ids; do
    case "$tower" in
        fusion|api|health) echo "make-passwd.sh: '$tower' is a service, not a tower id" >&2
                           exit 2 ;;
    esac
    password=$(printf '%s:%s' "$towers_secret" "$tower" | sha256sum | cut -d ' ' -f 1)
    mosquitto_passwd -b "$tmp" "$tower" "$password"
done
mosquitto_passwd -b "$tmp" fusion "$fusion_password"
mosquitto_passwd -b "$tmp" api "$api_password"
mosquitto_passwd -b "$tmp" health "$health_password"

if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto:mosquitto "$tmp"
fi
chmod 0600 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
echo "make-passwd.sh: wrote $out (towers: $tower_ids; services: fusion api health)"
