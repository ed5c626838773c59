#!/bin/bash
# InfluxDB 2 init hook (/docker-entrypoint-initdb.d): map the InfluxQL database
# $INFLUXDB_DATABASE / retention policy "autogen" to the bucket, so that the v1 API
# (/write?db=, /query) that cryptoviz and Grafana use reaches it.
set -euo pipefail
bucket_id=$(influx bucket list --name "${DOCKER_INFLUXDB_INIT_BUCKET}" --hide-headers | cut -f1)
influx v1 dbrp create \
  --db "${INFLUXDB_DATABASE:-cryptoviz}" \
  --rp autogen \
  --bucket-id "${bucket_id}" \
  --default
