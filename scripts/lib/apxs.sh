# shellcheck shell=bash
# Sourced by every script that builds against or starts httpd: which httpd, asked of its apxs.
# APXS=/path/to/apxs selects another httpd (build.rs reads the same variable); without it, apxs
# or apxs2 on PATH. Sets (not exported: an APXS in cargo's environment would rerun build.rs):
#   APXS           the apxs, or nothing when there is none
#   HTTPD          the server binary, $APXS -q SBINDIR / TARGET     (Debian: /usr/sbin/apache2)
#   HTTPD_MODULES  the directory of its modules, $APXS -q LIBEXECDIR (/usr/lib/apache2/modules)
# Without an apxs, what the scripts did before: apache2 or httpd on PATH (else /usr/sbin/apache2)
# and /usr/lib/apache2/modules. An APXS that was given and does not answer stops the script.
HTTPD=""
HTTPD_MODULES=""
if [ -n "${APXS:-}" ]; then
  if ! HTTPD=$("$APXS" -q SBINDIR)/$("$APXS" -q TARGET) || ! HTTPD_MODULES=$("$APXS" -q LIBEXECDIR) \
       || [ ! -x "$HTTPD" ]; then
    echo "$(basename "$0"): APXS=$APXS does not name an httpd's apxs (apxs -q SBINDIR, TARGET," \
         "LIBEXECDIR; got httpd '$HTTPD')" >&2
    exit 1
  fi
else
  APXS=$(command -v apxs || command -v apxs2 || true)
  if [ -n "$APXS" ]; then
    HTTPD=$("$APXS" -q SBINDIR 2>/dev/null)/$("$APXS" -q TARGET 2>/dev/null) || HTTPD=""
    HTTPD_MODULES=$("$APXS" -q LIBEXECDIR 2>/dev/null) || HTTPD_MODULES=""
  fi
  [ -n "$HTTPD" ] && [ -x "$HTTPD" ] || HTTPD=$(command -v apache2 || command -v httpd || echo /usr/sbin/apache2)
  [ -n "$HTTPD_MODULES" ] || HTTPD_MODULES=/usr/lib/apache2/modules
fi

# with_httpd_modules CONF DIR: prints CONF when its LoadModule lines (written for Debian's
# /usr/lib/apache2/modules) already name HTTPD_MODULES, else the path of a copy in DIR that does.
with_httpd_modules() {
  local conf=$1 dir=$2
  if [ "$HTTPD_MODULES" = /usr/lib/apache2/modules ]; then
    echo "$conf"
    return
  fi
  sed "s|/usr/lib/apache2/modules/|$HTTPD_MODULES/|g" "$conf" > "$dir/$(basename "$conf")"
  echo "$dir/$(basename "$conf")"
}
