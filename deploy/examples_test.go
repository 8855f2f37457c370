package deploy

import (
	"os"
	"path/filepath"
	"regexp"
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
