export { Prometheus } from "../../scripts/prometheus.mjs";
