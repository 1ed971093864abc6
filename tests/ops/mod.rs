//! Operations (issue 18): the Prometheus alert rules and their unit tests, the scrape
//! configuration, the services' metrics under `promtool check metrics`, and the Grafana
//! dashboard's queries, all checked with Debian's `promtool` (installed by
//! `scripts/services.sh`).

mod prometheus;
