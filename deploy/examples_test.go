package deploy

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/rcbs/rcbs/config"
)

// exampleConfigs are the config files an admin copies.
var exampleConfigs = []string{"../config.properties.example", "systemd/config.properties.example"}

// nodeExporterDir is the one textfile collector folder every file names.
const nodeExporterDir = "/var/lib/node_exporter/textfile_collector"

// TestExamplesRunWithoutNodeExporter loads each example config with rcbs's
// own parser on a host without node_exporter (its folder replaced by one
// that does not exist): a copied example must not stop the backup with
// exit 2 because monitoring is not installed.
func TestExamplesRunWithoutNodeExporter(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-node-exporter")
	for _, name := range exampleConfigs {
		text := strings.ReplaceAll(readFile(t, name), "/var/lib/node_exporter", missing)
		text = regexp.MustCompile(`(?m)^targetDir=.*$`).ReplaceAllString(text, "targetDir="+filepath.ToSlash(t.TempDir()))
		if _, _, err := config.Parse(text, name, func(string) string { return "" }); err != nil {
			t.Errorf("%s on a host without node_exporter: %v", name, err)
		}
	}
}

// TestOneMetricsFolder: README, config examples, units and alert rules name
// the same node_exporter textfile folder.
func TestOneMetricsFolder(t *testing.T) {
	files := append([]string{"../README.md"}, exampleConfigs...)
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !strings.HasSuffix(path, ".go") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`/var/lib/node_exporter[^\s"'` + "`" + `)]*`)
	seen := 0
	for _, name := range files {
		for _, m := range re.FindAllString(readFile(t, name), -1) {
			seen++
			if m != nodeExporterDir && filepath.Dir(m) != nodeExporterDir {
				t.Errorf("%s names %s; every file uses %s", name, m, nodeExporterDir)
			}
		}
	}
	if seen < 3 {
		t.Fatalf("only %d mentions of node_exporter's folder found: the check looks at nothing", seen)
	}
}

// TestRepositoryStandsAlone: nothing in the repository points at the
// contract outside it, and every "spec §N" that code, docs and deploy files
// cite is a section of doc/spec.md.
func TestRepositoryStandsAlone(t *testing.T) {
	spec := readFile(t, "../doc/spec.md")
	sections := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^## (\d+)\. `).FindAllStringSubmatch(spec, -1) {
		sections[m[1]] = true
	}
	for n := 1; n <= 15; n++ {
		if !sections[strconv.Itoa(n)] {
			t.Errorf("doc/spec.md has no section %d", n)
		}
	}
	outside := "../" + "shared" // spelled apart so that this file does not match itself
	cite := regexp.MustCompile(`spec §(\d+)`)
	cited := 0
	err := filepath.WalkDir("..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "dist", "rcbs-demo", "rcbs-sim", "testdata":
				return filepath.SkipDir
			}
			return nil
		}
		if !regexp.MustCompile(`\.(go|md|sh|yaml|yml|example|properties|service|timer|crontab|logrotate)$|^(Dockerfile|release|test|bench|bench-decrypt|versitygw)$`).MatchString(d.Name()) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.Contains(string(b), outside) {
			t.Errorf("%s points at %s, which is not in the repository: cite doc/spec.md", path, outside)
		}
		for _, m := range cite.FindAllStringSubmatch(string(b), -1) {
			cited++
			if !sections[m[1]] {
				t.Errorf("%s cites spec §%s, which doc/spec.md does not have", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if cited < 50 {
		t.Fatalf("found %d citations of the spec: the walk looks at nothing", cited)
	}
}
