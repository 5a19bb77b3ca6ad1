#!/bin/sh
# deploy/run-local.sh BUILD_DIR: what `make run` runs. Starts a loopback
# mosquitto with deploy/mosquitto/careline-dev.conf (dynamic-security plugin,
# no anonymous access: careline's broker account and its random password are
# made once, in var/mosquitto/) and careline with its embedded default
# configuration plus that account (var/careline.ini, rewritten each run;
# SQLite and key under var/), waits until it is ready, and prints how to send
# a first report and try the reference app. Ctrl-C stops both.
set -eu
B=${1:-build/release}
mkdir -p var/mosquitto
chmod 700 var/mosquitto
MOSQ_PID=""
CL_PID=""
cleanup() {
	trap - INT TERM EXIT
	[ -n "$CL_PID" ] && kill -TERM "$CL_PID" 2>/dev/null && wait "$CL_PID" 2>/dev/null
	[ -n "$MOSQ_PID" ] && kill -TERM "$MOSQ_PID" 2>/dev/null && wait "$MOSQ_PID" 2>/dev/null
	echo "careline and mosquitto stopped."
}
trap cleanup INT TERM EXIT

# careline's broker account: the dynamic-security admin.
PWFILE=var/mosquitto/careline.password
if [ ! -s var/mosquitto/dynsec.json ] || [ ! -s "$PWFILE" ]; then
	rm -f var/mosquitto/dynsec.json
	(umask 077 && head -c 18 /dev/urandom | base64 | tr '+/' '-_' >"$PWFILE")
	mosquitto_ctrl dynsec init var/mosquitto/dynsec.json careline "$(cat "$PWFILE")" >/dev/null
fi
PLUGIN=$(dpkg -L mosquitto 2>/dev/null | grep 'mosquitto_dynamic_security.so$' | head -n 1)
[ -n "$PLUGIN" ] || PLUGIN=/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so
sed "s|^plugin .*|plugin $PLUGIN|" deploy/mosquitto/careline-dev.conf >var/mosquitto/mosquitto.conf

(umask 077 && {
	"$B/careline" --print-default-config
	printf '\n; --- make run: careline is the broker'"'"'s dynamic-security admin\n'
	printf '[mqtt]\nusername = careline\npassword = %s\naccounts = dynsec\n' "$(cat "$PWFILE")"
} >var/careline.ini)

# Run as root, mosquitto drops to its own user: let it keep its files.
if [ "$(id -u)" -eq 0 ] && getent passwd mosquitto >/dev/null 2>&1; then
	chown -R mosquitto var/mosquitto
fi
mosquitto -c var/mosquitto/mosquitto.conf &
MOSQ_PID=$!
i=0
until mosquitto_pub -h 127.0.0.1 -p 1884 -u careline -P "$(cat "$PWFILE")" \
	-t careline/v1/ping -n -q 0 >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 50 ] || ! kill -0 "$MOSQ_PID" 2>/dev/null; then
		echo "mosquitto did not start on 127.0.0.1:1884; see the lines above." >&2
		exit 1
	fi
	sleep 0.1
done
"$B/careline" --config var/careline.ini &
CL_PID=$!

i=0
until curl -fsS http://127.0.0.1:8080/readyz >/dev/null 2>&1; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$CL_PID" 2>/dev/null; then
		echo "careline did not become ready; see the log lines above." >&2
		exit 1
	fi
	sleep 0.1
done

cat <<TXT

careline is running: API http://127.0.0.1:8080, broker 127.0.0.1:1884, data in var/.

Be the on-duty worker's phone with the reference app (in another terminal):
  $B/carelinectl oncall opsoegende                      # who is on duty, e.g. anna
  $B/carelinectl device add --person anna --generate    # prints the app command
  $B/carelinectl app --device ... --password ... --secret-key ...   (as printed)
Alerts appear there, sealed to the device's key and opened by the app; type
'ack REF', 'take REF', 'queue' or 'report TEXT'.

Watch the broker as careline's own account (sealed messages stay ciphertext):
  mosquitto_sub -h 127.0.0.1 -p 1884 -u careline -P "\$(cat $PWFILE)" -V mqttv5 -v -t 'careline/v1/#'

Send a first report:
  curl -s -X POST http://127.0.0.1:8080/api/v1/reports \\
    -H 'Authorization: Bearer demo-partner-token' -H 'Content-Type: application/json' \\
    -d '{"report_id": "'\$(cat /proc/sys/kernel/random/uuid)'", "text": "Har ikke set manden i nr. 14 i to uger, postkassen flyder over", "address": "Vestergade 14, st. th., 8000 Aarhus C"}'

Then look and act:
  $B/carelinectl tickets
  $B/carelinectl oncall opsoegende
  $B/carelinectl ack REF --as anna

Ctrl-C stops careline and mosquitto.
TXT
wait "$CL_PID"
