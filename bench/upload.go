package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"golang.org/x/sync/errgroup"
)

// S3Target is an S3-compatible server to seed (versitygw or MinIO on
// loopback), addressed path-style.
type S3Target struct {
	Endpoint       string
	Access, Secret string
	Region         string // default us-east-1
}

// Client builds an S3 client for t. The HTTP client is the SDK's buildable
// one because AWS_CA_BUNDLE is set on these machines (spec §11) and a plain
// *http.Client is then refused.
func (t S3Target) Client() *s3.Client {
	region := t.Region
	if region == "" {
		region = "us-east-1"
	}
	return s3.New(s3.Options{
		Region:                     region,
		BaseEndpoint:               aws.String(t.Endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(t.Access, t.Secret, ""),
		HTTPClient:                 awshttp.NewBuildableClient(),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
	})
}

// Upload creates w's bucket when missing and puts every media object of w,
// parallel at a time. Objects already there with the right size are kept,
// so a second seeding of the same server is cheap. Each object is generated
// into memory just before its PUT (the SDK signs the payload over plain
// HTTP, so it must be able to re-read it): memory is parallel × MaxSize.
func Upload(ctx context.Context, t S3Target, w Workload, parallel int) (Totals, error) {
	c := t.Client()
	if err := ensureBucket(ctx, c, w.Bucket); err != nil {
		return Totals{}, err
	}
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(max(parallel, 1))
	for i := range w.Recordings {
		for _, m := range w.Recording(i).Media {
			g.Go(func() error { return putObject(ctx, c, w.Bucket, m) })
		}
	}
	if err := g.Wait(); err != nil {
		return Totals{}, err
	}
	return w.Totals(), nil
}

func ensureBucket(ctx context.Context, c *s3.Client, bucket string) error {
	_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	var owned *types.BucketAlreadyOwnedByYou
	var exists *types.BucketAlreadyExists
	if err == nil || errors.As(err, &owned) || errors.As(err, &exists) {
		return nil
	}
	return fmt.Errorf("create bucket %s: %w", bucket, err)
}

func putObject(ctx context.Context, c *s3.Client, bucket string, m Media) error {
	head, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(m.Key)})
	if err == nil && aws.ToInt64(head.ContentLength) == m.Size {
		return nil
	}
	body, err := io.ReadAll(m.Open())
	if err != nil {
		return fmt.Errorf("generate %s: %w", m.Key, err)
	}
	_, err = c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(m.Key),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(m.Size),
		ContentType: aws.String("application/octet-stream"),
	})
	if err != nil {
		return fmt.Errorf("upload %s: %w", m.Key, err)
	}
	return nil
}
