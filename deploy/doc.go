// Package deploy holds no code: it is the home of the files an admin copies to
// run rcbs on a schedule (cron, systemd, Kubernetes, Windows Task Scheduler)
// and to watch it (Prometheus alert rules). Its tests parse those files and
// check the fields that matter against the contract (spec §2, §5, §9), so a
// broken schedule, a credential in a ConfigMap or an alert on a metric rcbs
// does not write fails `go test ./deploy/` instead of a night's backup.
package deploy
