#!/bin/sh
# The default pools of the resource manager (seed 004's table), created in
# one command:  deploy/pools-ai-apis.sh [qmctl flags, e.g. --cluster URLS]
# (`qmctl pool create --preset ai-apis` creates the same pools, built in.)
# Units are tokens, messages, queries or reads; --cost is USD per unit.
set -eu
qmctl=${QMCTL:-qmctl}
while read -r name capacity refill cost; do
    case $name in ''|'#'*) continue ;; esac
    "$qmctl" "$@" pool create "$name" --capacity "$capacity" \
        --refill "$refill" --cost "$cost"
done <<'POOLS'
# name            capacity  refill/s  USD per unit
openai-gpt4       10000     166       0.00003
openai-gpt35      90000     1500      0.0000015
email-sendgrid    1000      16        0.0001
sms-twilio        500       8         0.0075
database-d1       50000     833       0
kv-storage        100000    1666      0.0000005
POOLS
