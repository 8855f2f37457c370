package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rcbs/rcbs/cloudsim"
)

// demoServeListen is where the demo's archive is served.
const demoServeListen = "127.0.0.1:4000"

// writeDemoServeConfig writes DIR/serve.properties: the demo's config plus
// the keys rcbs serve needs (the cloud's key, so media play decrypted).
func writeDemoServeConfig(p demoPaths) (string, error) {
	base, err := os.ReadFile(p.config)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	path := filepath.Join(p.dir, "serve.properties")
	text := string(base) + fmt.Sprintf("# rcbs serve of the demo archive (spec §12)\nserveListen=%s\nserveDecryptionKey=%s\n",
		demoServeListen, filepath.ToSlash(filepath.Join(p.keys, cloudsim.KeyFileName)))
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return path, nil
}

// showDemoServe prints how to serve and search the demo archive, or with
// serveNow serves it until interrupted.
func showDemoServe(ctx context.Context, e *env, p demoPaths, serveNow bool) error {
	path, err := writeDemoServeConfig(p)
	if err != nil {
		return err
	}
	token := e.getenv("RCBS_SERVE_TOKEN")
	if token == "" {
		b := make([]byte, 12)
		rand.Read(b)
		token = "demo-" + hex.EncodeToString(b)
	}
	fmt.Fprintf(e.stdout, `
3. serve it: search, then play a call through its signed link (spec §12):
  RCBS_SERVE_TOKEN=%[1]s rcbs serve -config %[2]s
and in another terminal:
  curl -s -H 'Authorization: Bearer %[1]s' -d '{"limit":3}' http://%[3]s/search/
  curl -s -o call.mp3 '<a media "url" of the answer>'     (valid 15 minutes, Range supported)
`, token, path, demoServeListen)
	if !serveNow {
		fmt.Fprintln(e.stdout, `Or "rcbs demo -serve" keeps the demo archive served right away.`)
		return nil
	}
	env := *e
	env.getenv = func(k string) string {
		if k == "RCBS_SERVE_TOKEN" {
			return token
		}
		return e.getenv(k)
	}
	cfg, err := loadConfig(&env, path)
	if err != nil {
		return err
	}
	return runServe(ctx, &env, cfg)
}
