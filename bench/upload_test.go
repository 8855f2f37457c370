package bench

import (
	"bytes"
	"context"
	"io"
	"net/http/httptest"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func TestUploadPutsEveryObjectOnce(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	target := S3Target{Endpoint: srv.URL, Access: "bench", Secret: "bench-secret"}
	w, _ := Standard("a", true, 20) // 20 recordings × 2 media
	ctx := context.Background()
	tot, err := Upload(ctx, target, w, 4)
	if err != nil {
		t.Fatal(err)
	}
	if tot.Media != 40 {
		t.Fatalf("uploaded %d media, want 40", tot.Media)
	}
	c := target.Client()
	for _, i := range []int{0, 19} {
		m := w.Recording(i).Media[1]
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(w.Bucket), Key: aws.String(m.Key)})
		if err != nil {
			t.Fatalf("get %s: %v", m.Key, err)
		}
		got, _ := io.ReadAll(out.Body)
		out.Body.Close()
		want, _ := io.ReadAll(m.Open())
		if !bytes.Equal(got, want) {
			t.Errorf("%s: %d bytes stored, differ from the generated %d", m.Key, len(got), len(want))
		}
	}
	// A second seeding finds everything present (same sizes) and succeeds.
	if _, err := Upload(ctx, target, w, 4); err != nil {
		t.Fatalf("second upload: %v", err)
	}
	list, err := c.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(w.Bucket), Prefix: aws.String("a/")})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Contents) != 40 {
		t.Errorf("%d objects under a/, want 40", len(list.Contents))
	}
}
