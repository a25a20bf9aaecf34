#!/usr/bin/env bash
# The Debian package, end to end (docs/operations.md, "Installing from the
# Debian package"): builds it (scripts/build-deb.sh), installs it with dpkg,
# checks every file and that each works (binary, man pages, completions,
# sample configuration, unit, docs), then removes and purges it and checks
# that it is gone. Needs root and scripts/setup.sh. Refuses to run if a
# vrrpd package is installed already (it would replace it).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != 0 ]; then
    echo "test-deb: SKIP (needs root for dpkg -i)"
    exit 0
fi
if dpkg-query -W -f='${Status}' vrrpd 2>/dev/null | grep -q 'installed\|config-files'; then
    echo "test-deb: a vrrpd package is installed on this host; remove it first (dpkg --purge vrrpd)" >&2
    exit 1
fi

deb=$(bash scripts/build-deb.sh)
echo "test-deb: built $deb"
version=$(dpkg-deb -f "$deb" Version)

fail=0
bad() { echo "test-deb: FAIL: $*" >&2; fail=1; }
ok() { echo "test-deb: ok: $*"; }
check() { # description, command...
    local what=$1; shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what ($*)"; fi
}

installed=0
cleanup() { [ $installed = 1 ] && dpkg --purge vrrpd >/dev/null 2>&1 || true; }
trap cleanup EXIT

# --path-include: some images exclude man pages and docs from dpkg installs
# (/etc/dpkg/dpkg.cfg.d); this test is about what the package ships.
dpkg --path-include='/usr/share/man/*' --path-include='/usr/share/doc/vrrpd/*' -i "$deb" >/dev/null
installed=1
check "dpkg says installed" sh -c "dpkg-query -W -f='\${Status}' vrrpd | grep -qx 'install ok installed'"

# The binary: static, the version of the package.
got=$(/usr/sbin/vrrpd --version 2>&1 || true)
if [ "$got" = "vrrpd ${version%-*}" ]; then ok "vrrpd --version: $got"; else bad "vrrpd --version: '$got', want 'vrrpd ${version%-*}'"; fi
if readelf -l /usr/sbin/vrrpd | grep -q INTERP; then bad "/usr/sbin/vrrpd is dynamically linked"; else ok "/usr/sbin/vrrpd is static"; fi

# Man pages: vrrpd(8) and one per subcommand, rendered by man-db.
subcommands="run reload status switchover maintenance check import-keepalived"
if [ "$(man -w vrrpd 2>/dev/null)" = /usr/share/man/man8/vrrpd.8.gz ]; then ok "man -w vrrpd"; else bad "man -w vrrpd: '$(man -w vrrpd 2>&1)'"; fi
for sub in $subcommands; do
    check "man -w vrrpd-$sub" man -w "vrrpd-$sub"
done
if MANWIDTH=100 man -P cat vrrpd-check 2>/dev/null | grep -q -- '--config'; then ok "man vrrpd-check shows --config"; else bad "man vrrpd-check does not render --config"; fi

# Completions: where each shell looks, and bash loads its file.
check "bash completion" test -s /usr/share/bash-completion/completions/vrrpd
check "zsh completion" test -s /usr/share/zsh/vendor-completions/_vrrpd
check "fish completion" test -s /usr/share/fish/vendor_completions.d/vrrpd.fish
check "bash completion loads" bash -c 'source /usr/share/bash-completion/completions/vrrpd && complete -p vrrpd | grep -q _vrrpd'

# The sample configuration: a conffile, root-only, valid. `check --offline`
# (when the binary has it) skips what depends on this host, such as
# whether the sample's eth0 exists.
conf=/etc/vrrpd/vrrpd.toml
check "$conf is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' vrrpd | grep -q ' $conf '"
check "$conf is mode 600" sh -c "[ \"\$(stat -c %a $conf)\" = 600 ]"
offline=()
if /usr/sbin/vrrpd check --help 2>/dev/null | grep -q -- '--offline'; then offline=(--offline); fi
if out=$(/usr/sbin/vrrpd check "${offline[@]}" -c "$conf" 2>&1); then ok "vrrpd check ${offline[*]} -c $conf: $out"; else bad "vrrpd check ${offline[*]} -c $conf: $out"; fi

# The unit, and that every Documentation= target of it is installed.
unit=/usr/lib/systemd/system/vrrpd.service
check "unit installed" cmp "$unit" packaging/vrrpd.service
for doc in $(sed -n 's/^Documentation=//p' "$unit"); do
    case "$doc" in
        man:*) page=${doc#man:}; check "Documentation=$doc" man -w "${page%%(*}" ;;
        file://*) check "Documentation=$doc" test -s "${doc#file://}" ;;
        *) bad "Documentation=$doc: neither man: nor file://" ;;
    esac
done
if command -v systemd-analyze >/dev/null 2>&1; then
    if out=$(systemd-analyze verify "$unit" 2>&1); then ok "systemd-analyze verify $unit"; else bad "systemd-analyze verify: $out"; fi
fi

# Docs and licences.
for f in copyright README.md config.md operations.md LICENSE-MIT LICENSE-APACHE; do
    check "/usr/share/doc/vrrpd/$f" test -s "/usr/share/doc/vrrpd/$f"
done
check "copyright is machine-readable" grep -q '^Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/' /usr/share/doc/vrrpd/copyright

# Remove: everything but the conffile goes; purge: that goes too.
files=$(dpkg-query -L vrrpd | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ -n "$files" ] || bad "dpkg -L vrrpd lists no files"
dpkg -r vrrpd >/dev/null
left=$(for f in $files; do [ "$f" != "$conf" ] && [ -e "$f" ] && echo "$f"; done || true)
if [ -z "$left" ]; then ok "dpkg -r removed every file"; else bad "left after dpkg -r: $left"; fi
check "dpkg -r keeps the conffile" test -f "$conf"
dpkg --purge vrrpd >/dev/null
installed=0
check "dpkg --purge removes $conf" test ! -e "$conf"
check "dpkg --purge removes /etc/vrrpd" test ! -e /etc/vrrpd
check "dpkg knows no vrrpd any more" sh -c "! dpkg-query -W -f='\${Status}' vrrpd 2>/dev/null | grep -q installed"
check "man -w vrrpd fails" sh -c "! man -w vrrpd"

if [ $fail = 0 ]; then echo "test-deb: ok"; else echo "test-deb: FAILED" >&2; fi
exit $fail
