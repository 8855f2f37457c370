package cloudsim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/rcbs/rcbs/cloudsim/s3test"
)

func getObject(t testing.TB, client *s3.Client, bucket, key, rng string) []byte {
	t.Helper()
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}
	if rng != "" {
		in.Range = aws.String(rng)
	}
	out, err := client.GetObject(context.Background(), in)
	if err != nil {
		t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("GetObject %s/%s: read: %v", bucket, key, err)
	}
	return b
}

// TestInProcessS3 reads the generated objects the way rcbs does, with the
// AWS SDK: whole, by range, by HEAD and by listing.
func TestInProcessS3(t *testing.T) {
	for _, o := range []Options{
		plain(Options{Recordings: 5, Seed: 2}),
		plain(Options{Recordings: 5, Seed: 2, MediaDir: t.TempDir()}), // spooled to files
	} {
		c := startCloud(t, o)
		client := newS3Client(c.S3URL(), "us-east-1", simAccessKey, simSecretKey)
		ctx := context.Background()
		sizes := map[string]int64{}
		for _, r := range c.Recordings() {
			for _, m := range r.Media {
				b := getObject(t, client, m.Bucket, m.Key, "")
				if sha256.Sum256(b) != m.SHA256 {
					t.Fatalf("%s: GetObject bytes differ from the stored ones", m.Key)
				}
				if part := getObject(t, client, m.Bucket, m.Key, "bytes=100-299"); !bytes.Equal(part, b[100:300]) {
					t.Fatalf("%s: ranged GetObject differs", m.Key)
				}
				head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &m.Bucket, Key: &m.Key})
				if err != nil || aws.ToInt64(head.ContentLength) != m.Size || head.LastModified == nil {
					t.Fatalf("%s: HeadObject %v, %v", m.Key, head, err)
				}
				sizes[m.Key] = m.Size
			}
		}
		list, err := client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(c.Options().Bucket)})
		if err != nil || len(list.Contents) != len(sizes) {
			t.Fatalf("ListObjectsV2: %v, %v", list, err)
		}
		for _, obj := range list.Contents {
			if aws.ToInt64(obj.Size) != sizes[aws.ToString(obj.Key)] {
				t.Fatalf("listed %s with size %d, want %d", aws.ToString(obj.Key), aws.ToInt64(obj.Size), sizes[aws.ToString(obj.Key)])
			}
		}
		// A client's PUT replaces a generated object.
		m := c.Recordings()[0].Media[0]
		if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: &m.Bucket, Key: &m.Key, Body: strings.NewReader("new")}); err != nil {
			t.Fatal(err)
		}
		if b := getObject(t, client, m.Bucket, m.Key, ""); string(b) != "new" {
			t.Fatalf("after PUT: %q", b)
		}
		if s := c.Stats(); s.S3Get < int64(2*len(sizes)) || s.S3Head != int64(len(sizes)) {
			t.Errorf("Stats = %+v", s)
		}
	}
}

func TestLargeProfileSpools(t *testing.T) {
	if testing.Short() {
		t.Skip("generates tens of MB")
	}
	c := startCloud(t, plain(Options{Recordings: 1, Seed: 1, Profile: "large"}))
	m := c.Recordings()[0].Media[0]
	if m.Size < 8<<20 {
		t.Fatalf("large media of %d bytes", m.Size)
	}
	entries, err := os.ReadDir(c.spoolDir)
	if err != nil || len(entries) != len(c.Recordings()[0].Media) {
		t.Fatalf("spool folder %s: %v, %v", c.spoolDir, entries, err)
	}
	client := newS3Client(c.S3URL(), "us-east-1", simAccessKey, simSecretKey)
	if b := getObject(t, client, m.Bucket, m.Key, ""); sha256.Sum256(b) != m.SHA256 {
		t.Fatal("large object differs")
	}
	c.Close()
	if _, err := os.Stat(c.spoolDir); !os.IsNotExist(err) {
		t.Fatalf("Close left %s: %v", c.spoolDir, err)
	}
}

// TestUploadToVersityGW puts the objects into a real S3 server, which
// checks SigV4 signatures, and reads them back.
func TestUploadToVersityGW(t *testing.T) {
	endpoint, access, secret := s3test.StartVersityGW(t)
	c := newCloud(t, Options{Recordings: 6, Seed: 12, UnencryptedShare: 0.3, APIMediaShare: 0.2})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := c.UploadTo(ctx, endpoint, access, secret); err != nil {
		t.Fatalf("UploadTo: %v", err)
	}
	if c.S3URL() != endpoint || !strings.Contains(strings.Join(c.Env(), "\n"), "AWS_ACCESS_KEY_ID="+access) {
		t.Fatalf("after UploadTo: S3URL %s, Env %v", c.S3URL(), c.Env())
	}
	o := c.Options()
	if err := c.Add(2, o.Start, o.End); err != nil { // new recordings reach the external S3 too
		t.Fatalf("Add after UploadTo: %v", err)
	}
	client := newS3Client(endpoint, "us-east-1", access, secret)
	n := 0
	for _, r := range c.Recordings() {
		for _, m := range r.Media {
			if m.Key == "" {
				continue
			}
			if b := getObject(t, client, m.Bucket, m.Key, ""); sha256.Sum256(b) != m.SHA256 {
				t.Fatalf("%s: versitygw returns other bytes", m.Key)
			}
			n++
		}
	}
	if n == 0 {
		t.Fatal("no S3 media to check")
	}
	bad := newS3Client(endpoint, "us-east-1", access, "wrong-secret")
	if _, err := bad.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: aws.String(o.Bucket)}); err == nil {
		t.Fatal("versitygw accepted a wrong secret: the upload test proves nothing")
	}
}
