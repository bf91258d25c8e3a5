#!/bin/sh
# Write a mosquitto password file for the roles towers, fusion, api and health from the
# environment variables MQTT_TOWERS_PASSWORD, MQTT_FUSION_PASSWORD, MQTT_API_PASSWORD and
# MQTT_HEALTH_PASSWORD. Usage: make-passwd.sh OUTPUT_FILE
# Any password works (spaces, ':' and quotes included) except one with a line break.
set -eu

out="${1:?usage: make-passwd.sh OUTPUT_FILE}"
umask 077
tmp="${out}.tmp.$$"
trap 'rm -f "$tmp"' EXIT
: > "$tmp"

add_user() {  # add_user USERNAME VARIABLE
    eval "password=\${$2:-}"
    if [ -z "$password" ]; then
        echo "make-passwd.sh: $2 is empty or unset: set it in .env (see .env.example)" >&2
        exit 2
    fi
    case "$password" in
        *"
"*) echo "make-passwd.sh: $2 must be a single line" >&2; exit 2 ;;
    esac
    mosquitto_passwd -b "$tmp" "$1" "$password"
}

add_user towers MQTT_TOWERS_PASSWORD
add_user fusion MQTT_FUSION_PASSWORD
add_user api MQTT_API_PASSWORD
add_user health MQTT_HEALTH_PASSWORD

if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown mosquitto:mosquitto "$tmp"
fi
chmod 0600 "$tmp"
mv -f "$tmp" "$out"
trap - EXIT
echo "make-passwd.sh: wrote $out (users: towers fusion api health)"
