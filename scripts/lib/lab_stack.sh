# Sourced by scripts/lab and scripts/lab-e2e (after common.sh): brings up the whole lab on
# 127.0.0.1 and records every PID it starts in the `pids` array, for the caller's trap.
#
#   lab_stack_start WORK LAB_PORT SIM_PORT PROMETHEUS_PORT ALERTMANAGER_PORT
#
# starts `selfheal lab` (kube-sim with LAB_SCENARIO, by default chaos/clusters/three-tier.yaml;
# chaos/clusters/three-tier-live.yaml runs the sample app as processes; the ingest, the workflow;
# SLI checks against this Prometheus), Debian's Prometheus with observability/'s rules and
# Alertmanager with its alertmanager.yml (rendered for the lab by lab_observability.py: intervals,
# `for` durations, the webhook URL and token file only), and waits until all three answer.
# Exports SELFHEAL_LAB, SELFHEAL_SIM, SELFHEAL_PROMETHEUS and ALERTMANAGER_URL.
lab_stack_start() {
  local work=$1 lab=127.0.0.1:$2 sim=127.0.0.1:$3 prom=127.0.0.1:$4 am=127.0.0.1:$5
  need_apt prometheus prometheus-alertmanager curl python3
  need_pip pyyaml
  need_selfheal
  mkdir -p "$work"
  printf '%s' "lab-$RANDOM$RANDOM$RANDOM" > "$work/token"
  "$SELFHEAL" lab --listen "$lab" --sim-listen "$sim" --token "$(cat "$work/token")" \
    --scenario "${LAB_SCENARIO:-$ROOT/chaos/clusters/three-tier.yaml}" \
    --prometheus "http://$prom" --kubeconfig-out "$work/kubeconfig" \
    --slack-file "$work/slack.jsonl" >"$work/lab.out" 2>"$work/lab.log" & pids+=($!)
  python3 "$ROOT/scripts/lib/lab_observability.py" "$work/obs" --sim "$sim" --lab "$lab" \
    --alertmanager "$am" --token-file "$work/token"
  prometheus --config.file="$work/obs/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="$prom" >"$work/prometheus.log" 2>&1 & pids+=($!)
  prometheus-alertmanager --config.file="$work/obs/alertmanager.yml" --storage.path="$work/am" \
    --web.listen-address="$am" --cluster.listen-address= >"$work/alertmanager.log" 2>&1 & pids+=($!)
  wait_http "http://$lab/metrics" 60 || { tail -5 "$work/lab.log" >&2; return 1; }
  wait_http "http://$prom/-/ready" || { tail -5 "$work/prometheus.log" >&2; return 1; }
  wait_http "http://$am/-/ready" || { tail -5 "$work/alertmanager.log" >&2; return 1; }
  export SELFHEAL_LAB=http://$lab SELFHEAL_SIM=http://$sim SELFHEAL_PROMETHEUS=http://$prom
  export ALERTMANAGER_URL=http://$am
}

# lab_traffic WORK USERS: for a live lab (LAB_SCENARIO chaos/clusters/three-tier-live.yaml), the
# shop's traffic: Locust (chaos/load/locustfile.py) against the frontend Service, USERS requests
# a second, until lab_stack_stop. Exports LAB_FRONTEND.
lab_traffic() {
  need_venv locust 'locust>=2.40,<3'
  local frontend
  frontend=$(curl -fsS "$SELFHEAL_SIM/api/v1/namespaces/shop/services/frontend" | python3 -c \
    'import json, sys; s = json.load(sys.stdin)["spec"]; print("%s:%s" % (s["clusterIP"], s["ports"][0]["port"]))')
  wait_http "http://$frontend/" 60
  "$HOME/.cache/selfheal/venv/locust/bin/locust" -f "$ROOT/chaos/load/locustfile.py" --headless \
    -u "$2" -r "$2" --host "http://$frontend" >"$1/locust.log" 2>&1 & pids+=($!)
  export LAB_FRONTEND=http://$frontend
}

# lab_stack_stop: stops every process lab_stack_start started, by PID, and waits for them.
lab_stack_stop() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
