# shellcheck shell=bash
# Sourced by the server benchmarks (bench/server, bench/capacity): a private Apache (event MPM)
# with mod_tofu on 127.0.0.1, its wrk scripts and its processes' CPU and memory. Needs
# scripts/lib/apxs.sh sourced first (HTTPD, HTTPD_MODULES) and to run from the repository's top.
# BENCH_MODULE=/path/to/mod_tofu.so loads another build (another commit's, for a before/after).

# apache_conf WORK PORT PHOTOS STATIC SECRET [EXTRA]: writes WORK/httpd.conf: two event children of
# 16 threads, /img → mod_tofu on PHOTOS, /static → STATIC; EXTRA lines go into /img's location.
apache_conf() {
  local work=$1 port=$2 photos=$3 static=$4 secret=$5 extra=${6:-}
  local user_group=""
  if [ "$(id -u)" -eq 0 ]; then user_group="User www-data
Group www-data"; fi
  mkdir -p "$work/run" "$work/logs"
  cat > "$work/httpd.conf" <<CONF
ServerRoot "$work"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile "$work/run/httpd.pid"
DefaultRuntimeDir "$work/run"
Mutex file:$work/run default
ErrorLog "$work/logs/error_log"
LogLevel warn
$user_group
LoadModule mpm_event_module $HTTPD_MODULES/mod_mpm_event.so
LoadModule authz_core_module $HTTPD_MODULES/mod_authz_core.so
LoadModule mime_module $HTTPD_MODULES/mod_mime.so
LoadModule alias_module $HTTPD_MODULES/mod_alias.so
LoadModule tofu_module "${BENCH_MODULE:-$(pwd)/target/mod_tofu.so}"
TypesConfig /etc/mime.types
StartServers 2
ServerLimit 2
ThreadsPerChild 16
MaxRequestWorkers 32
MinSpareThreads 16
MaxSpareThreads 32
KeepAlive On
MaxKeepAliveRequests 0
<Directory />
    Require all denied
</Directory>
DocumentRoot "$static"
<Directory "$static">
    Require all granted
</Directory>
Alias /static "$static"
<Location /img>
    SetHandler tofu
    Require all granted
    TofuStorage file://$photos
    TofuSecret $secret
$extra
</Location>
CONF
}

# wrk_paths LUA PATH...: a wrk script that requests the paths round-robin.
wrk_paths() {
  local lua=$1; shift
  {
    echo "local paths = {"
    printf '  "%s",\n' "$@"
    echo "}"
    echo 'local i = 0'
    echo 'request = function() i = i % #paths + 1; return wrk.format("GET", paths[i]) end'
  } > "$lua"
}

# workers MASTER: the PIDs of a master's worker processes.
workers() {
  ps -o pid= --ppid "$1" | tr -d ' '
}

# peak_rss_mb MASTER: the largest VmHWM among its workers, in MB.
peak_rss_mb() {
  local max=0 kb pid
  for pid in $(workers "$1"); do
    kb=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
    [ "${kb:-0}" -gt "$max" ] && max=$kb
  done
  echo $((max / 1024))
}

# cpu_ticks MASTER: user + system clock ticks of the master and its workers so far.
cpu_ticks() {
  local total=0 pid t
  for pid in "$1" $(workers "$1"); do
    # Fields 14 and 15 of /proc/PID/stat, counted after the command name's closing parenthesis.
    t=$(sed 's/.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{print $12 + $13}') || t=0
    total=$((total + ${t:-0}))
  done
  echo "$total"
}
