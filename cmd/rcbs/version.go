package main

import (
	"context"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
)

// version is the release, set at build time:
//
//	go build -ldflags "-X main.version=v1.2.3" ./cmd/rcbs
//
// Left at "dev", the module version from the build info is used when there
// is one (go install module@version).
var version = "dev"

// releaseCommit is the commit scripts/release stamps with
// -ldflags "-X main.releaseCommit=…": a release build must name its commit
// even when the Go toolchain records none (-buildvcs=false, a build from a
// source tarball, a container build without .git).
var releaseCommit = ""

const versionUsage = `Usage: rcbs version

Prints the rcbs version, the commit it was built from and the Go version.

Example:
  rcbs version

`

func cmdVersion(ctx context.Context, e *env, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := parseFlags(e, fs, args, versionUsage); err != nil {
		return err
	}
	v, commit := buildVersion(version, readBuildInfo())
	if releaseCommit != "" {
		commit = releaseCommit
	}
	_, err := fmt.Fprintf(e.stdout, "rcbs %s, commit %s, %s %s/%s\n", v, commit, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return err
}

func readBuildInfo() *debug.BuildInfo {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	return info
}

// buildVersion picks the version (the ldflags one, else the module's) and
// the commit (vcs.revision, short, "-dirty" when built from a modified
// tree; "unknown" when built without VCS stamping, e.g. -buildvcs=false).
func buildVersion(ldflags string, info *debug.BuildInfo) (v, commit string) {
	v, commit = ldflags, "unknown"
	if info == nil {
		return v, commit
	}
	if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
		v = info.Main.Version
	}
	var dirty bool
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
			if len(commit) > 12 {
				commit = commit[:12]
			}
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if dirty && commit != "unknown" {
		commit += "-dirty"
	}
	return v, commit
}
