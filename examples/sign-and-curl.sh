#!/usr/bin/env bash
# Send FILE to the orders route with a Standard Webhooks v1 signature, using only
# openssl and curl. Usage: examples/sign-and-curl.sh [FILE] [DELIVERY_ID]
set -euo pipefail
FILE=${1:-examples/order.json}
ID=${2:-msg_$(date +%s%N)}
SECRET=${HOOKTIDE_ORDERS_SECRET:-whsec_aG9va3RpZGUtbG9jYWwtZGV2LW9yZGVycy1zZWNyZXQ=}
URL=${HOOKTIDE_URL:-http://127.0.0.1:8000}/webhooks/orders
TS=$(date +%s)
BODY=$(cat "$FILE")
KEY_HEX=$(printf '%s' "${SECRET#whsec_}" | base64 -d | od -An -tx1 | tr -d ' \n')
SIG=$(printf '%s' "$ID.$TS.$BODY" | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY_HEX" -binary | base64)
curl -sS -X POST "$URL" \
  -H 'content-type: application/json' \
  -H "webhook-id: $ID" -H "webhook-timestamp: $TS" -H "webhook-signature: v1,$SIG" \
  --data-binary "$BODY"
echo
