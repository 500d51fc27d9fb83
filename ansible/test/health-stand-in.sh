#!/usr/bin/env bash
# Usage: health-stand-in.sh ROLE CONFIG. Stands in for `expertmesh health ROLE --config CONFIG` where the
# jar does not have it yet. A worker is healthy once its running process has printed "... serving Flight
# on port N" (after it joined the cluster: its Flight port opens seconds before that), the coordinator
# once it completes a one-token request (what /health will promise; /v1/models answers before that).
set -uo pipefail
role="$1"
config="$2"
key() { sed -n "s/^$1: *\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$config"; }
if [[ "$role" == coordinator ]]; then
  auth=()
  [[ -n "$(key api-key-file)" ]] && auth=(-H "Authorization: Bearer $(head -1 "$(key api-key-file)")")
  code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$(key host):$(key http-port)/v1/completions" \
    -H 'Content-Type: application/json' "${auth[@]}" -d "{\"model\": \"$(key served-model-name)\", \"prompt\": [1], \"max_tokens\": 1}")"
  [[ "$code" == 200 ]] || { echo "coordinator: completion answered HTTP $code"; exit 1; }
else
  pid="$(systemctl show -p MainPID --value "expertmesh-$role")"
  journalctl "_PID=$pid" -o cat --no-pager 2>/dev/null | grep -q "serving Flight on port $(key port)" \
    || { echo "$role (pid $pid) has not joined the cluster yet"; exit 1; }
fi
echo "$role serving"
