#!/usr/bin/env bash
# make install (PREFIX, DESTDIR): programs, configs, man pages, the systemd unit; the unit
# passes systemd-analyze verify (no running systemd needed) and asks only for known
# capabilities.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
mk() { make --no-print-directory -s BUILD="$BUILD" "$@" >"$tmp/make.log" 2>&1; }

check "make install DESTDIR=... PREFIX=/usr succeeds" mk install DESTDIR="$tmp/dest" PREFIX=/usr
for p in http_energy fit_energy workload_server bench_http measure_idle_power collect_signals; do
	check "$p installed in /usr/bin" test -x "$tmp/dest/usr/bin/$p"
	page=$(ls "$tmp"/dest/usr/share/man/man[18]/"$p".[18] 2>/dev/null | head -n 1)
	check "$p has a man page that renders with a NAME section" \
		bash -c "[ -n '$page' ] && MANWIDTH=80 man -l '$page' 2>/dev/null | grep -q '^NAME'"
done
check "configs in /usr/share/http_energy" test -f "$tmp/dest/usr/share/http_energy/energy_model.conf"
check "the service's config in /etc/http_energy" test -f "$tmp/dest/etc/http_energy/energy_model.conf"
unit=$tmp/dest/usr/lib/systemd/system/http_energy.service
check "the unit is installed with paths filled in" \
	bash -c "grep -q '^ExecStart=/usr/bin/http_energy ' $unit && ! grep -q @ $unit"
echo "# edited" >>"$tmp/dest/etc/http_energy/energy_model.conf"
mk install DESTDIR="$tmp/dest" PREFIX=/usr
check "a second install keeps the edited /etc config" \
	grep -q '^# edited' "$tmp/dest/etc/http_energy/energy_model.conf"

# systemd-analyze verify checks that ExecStart exists and the man page resolves: install
# for real under a temporary PREFIX so both do.
if command -v systemd-analyze >/dev/null; then
	mk install PREFIX="$tmp/usr" SYSCONFDIR="$tmp/etc"
	unit=$tmp/usr/lib/systemd/system/http_energy.service
	check "systemd-analyze verify passes on the unit" \
		bash -c "MANPATH=$tmp/usr/share/man systemd-analyze verify $unit 2>&1 | tee $tmp/verify.log; [ \${PIPESTATUS[0]} = 0 ] && ! grep -q . $tmp/verify.log"
	sed 's|^ExecStart=[^ ]*|ExecStart=/nonexistent/http_energy|' "$unit" >"$tmp/broken.service"
	check "verify does fail on a unit whose program is missing (the check can fail)" \
		bash -c "! MANPATH=$tmp/usr/share/man systemd-analyze verify $tmp/broken.service >/dev/null 2>&1"
else
	skip "systemd-analyze missing (apt-get install systemd)"
fi
unit=$tmp/dest/usr/lib/systemd/system/http_energy.service
caps=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
known=1
for c in $caps; do grep -Eq "define[[:space:]]+$c[[:space:]]" /usr/include/linux/capability.h || { known=0; echo "# unknown: $c"; }; done
check "every bounded capability exists ($caps)" [ "$known" = 1 ]
check "the bounding set includes CAP_BPF and CAP_PERFMON" \
	bash -c "grep -q 'CapabilityBoundingSet=.*CAP_BPF' $unit && grep -q 'CapabilityBoundingSet=.*CAP_PERFMON' $unit"
for k in NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes PrivateTmp=yes ExecReload=; do
	check "the unit has $k" grep -q "^$k" "$unit"
done
finish
