#!/usr/bin/env bash
# The Kubernetes manifests carry what http_energy needs on a node (host PIDs, privileged,
# the host's cgroup2 tree and BTF, its config) and what Prometheus needs to find it, and
# every option they pass is one http_energy knows.
set -u
cd "$(dirname "$0")/../.."
. tests/integration/lib.sh
python3 -c 'import yaml' 2>/dev/null || { skip "python3-yaml missing"; finish; }

tmp=$(mktemp -d)
on_exit "rm -rf $tmp"
"$BIN/http_energy" --help >"$tmp/help.txt"
python3 - deploy/kubernetes/http_energy.yaml deploy/kubernetes/servicemonitor.yaml \
	"$tmp/help.txt" <<'PY'
import re, sys, yaml

failed = 0
def out(ok, what):
    global failed
    failed += not ok
    print(("ok - " if ok else "not ok - ") + what)

docs = [d for f in sys.argv[1:3] for d in yaml.safe_load_all(open(f)) if d]
kinds = {d["kind"]: d for d in docs}
help_text = open(sys.argv[3]).read()
out(set(kinds) >= {"Namespace", "ConfigMap", "DaemonSet", "Service", "ServiceMonitor"},
    "manifests hold Namespace, ConfigMap, DaemonSet, Service, ServiceMonitor (got %s)" % sorted(kinds))
ds = kinds["DaemonSet"]
pod = ds["spec"]["template"]
spec = pod["spec"]
out(ds["spec"]["selector"]["matchLabels"].items() <= pod["metadata"]["labels"].items(),
    "the DaemonSet's selector matches its pods")
out(spec.get("hostPID") is True, "hostPID: true")
(c,) = spec["containers"]
out(c.get("securityContext", {}).get("privileged") is True, "the container is privileged")
vols = {v["name"]: v for v in spec["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
def host_mount(path):
    m = mounts.get(path)
    return m and vols[m["name"]].get("hostPath", {}).get("path") == path
out(host_mount("/sys/fs/cgroup"), "the host's /sys/fs/cgroup is mounted at /sys/fs/cgroup")
out(host_mount("/sys/kernel/btf"), "the host's BTF is mounted")
args = c["args"]
opts = [a for a in args if a.startswith("--")]
unknown = [o for o in opts if not re.search(r"(^|\s)" + re.escape(o) + r"\b", help_text)]
out(not unknown, "every option is in http_energy --help (unknown: %s)" % unknown)
addr = args[args.index("--metrics-addr") + 1] if "--metrics-addr" in args else ""
port = int(addr.rsplit(":", 1)[1]) if ":" in addr else -1
ports = {p["name"]: p["containerPort"] for p in c["ports"]}
out(addr.startswith(":") and ports.get("metrics") == port,
    "--metrics-addr listens on every address at the container's metrics port (%s)" % addr)
ann = pod["metadata"].get("annotations", {})
out(ann.get("prometheus.io/scrape") == "true" and ann.get("prometheus.io/port") == str(port)
    and ann.get("prometheus.io/path") == "/metrics", "scrape annotations name the port and path")
out("--no-requests" in args, "host-wide by default: --no-requests (request tracking rewrites responses)")
positional = [a for i, a in enumerate(args) if not a.startswith("--") and args[i - 1] != "--metrics-addr"]
out(positional[:1] == ["/sys/fs/cgroup"], "CGROUP_DIR is the host's cgroup2 root")
cfg = positional[1] if len(positional) > 1 else ""
cm = kinds["ConfigMap"]
cfg_mount = [m for m in c["volumeMounts"] if cfg.startswith(m["mountPath"] + "/")]
out(cfg_mount and vols[cfg_mount[0]["name"]].get("configMap", {}).get("name") == cm["metadata"]["name"]
    and cfg.rsplit("/", 1)[1] in cm["data"], "the config file comes from the ConfigMap")
svc = kinds["Service"]
out(svc["spec"]["selector"].items() <= pod["metadata"]["labels"].items()
    and any(p["name"] == "metrics" for p in svc["spec"]["ports"]), "the Service selects the pods' metrics port")
sm = kinds["ServiceMonitor"]
out(sm["spec"]["selector"]["matchLabels"].items() <= svc["metadata"]["labels"].items()
    and sm["spec"]["endpoints"][0]["port"] == "metrics", "the ServiceMonitor selects the Service's metrics port")
out(all(d["metadata"].get("namespace") == kinds["Namespace"]["metadata"]["name"]
        for d in docs if d["kind"] != "Namespace"), "everything is in the one namespace")
sys.exit(1 if failed else 0)
PY
[ $? = 0 ] || failures=$((failures + 1)) # its "not ok" lines are printed above

# The Grafana dashboard: valid JSON, valid PromQL (promtool checks it as rules), and only
# metrics docs/metrics.md documents.
if command -v promtool >/dev/null; then
	python3 - deploy/grafana/http_energy.json "$tmp/rules.yml" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p["targets"]]
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "1m").replace("$instance", ".*")
        f.write("      - record: dashboard:expr%d\n        expr: %s\n" % (i, json.dumps(e)))
PY
	check "the Grafana dashboard's queries are valid PromQL" \
		bash -c "promtool check rules $tmp/rules.yml >$tmp/rules.log 2>&1 || { cat $tmp/rules.log; false; }"
	missing=$(grep -o 'http_energy_[a-z_]*' deploy/grafana/http_energy.json | sort -u |
		while read -r m; do grep -q "$m" docs/metrics.md || echo "$m"; done)
	check "the dashboard uses documented metrics only (${missing:-all documented})" [ -z "$missing" ]
else
	skip "promtool missing: the dashboard's PromQL is not checked"
fi
finish
