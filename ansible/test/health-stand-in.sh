#!/usr/bin/env bash
# Usage: health-stand-in.sh ROLE CONFIG. Stands in for `expertmesh health ROLE --config CONFIG` where the
# jar does not have it yet: a worker is healthy when its Flight port accepts connections, the coordinator
# when it completes a one-token request (a stricter test than /health; /v1/models answers before that).
set -uo pipefail
role="$1"
config="$2"
key() { sed -n "s/^$1: *\"\{0,1\}\([^\"]*\)\"\{0,1\}$/\1/p" "$config"; }
host="$(key host)"
if [[ "$role" == coordinator ]]; then
  auth=()
  [[ -n "$(key api-key-file)" ]] && auth=(-H "Authorization: Bearer $(head -1 "$(key api-key-file)")")
  code="$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$host:$(key http-port)/v1/completions" \
    -H 'Content-Type: application/json' "${auth[@]}" -d "{\"model\": \"$(key served-model-name)\", \"prompt\": [1], \"max_tokens\": 1}")"
  [[ "$code" == 200 ]] || { echo "coordinator: completion answered HTTP $code"; exit 1; }
else
  (exec 3<>"/dev/tcp/$host/$(key port)") 2>/dev/null || { echo "$role: Flight port $(key port) on $host is closed"; exit 1; }
fi
echo "$role serving"
