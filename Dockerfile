# The rcbs container image: the static binary, a CA bundle, nothing else
# (no shell, no package manager), run as the non-root user 65532.
#
#   docker build --build-arg VERSION=v1.0.0 --build-arg COMMIT=$(git rev-parse --short=12 HEAD) -t rcbs:v1.0.0 .
#
# Without Docker, the same image from a release binary (scripts/release):
#   go run ./internal/tools/image -bin dist/v1.0.0/rcbs-linux-amd64 -version v1.0.0 -o rcbs-image.tar
# internal/tools/image's test checks that this file and that tool agree.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.releaseCommit=${COMMIT}" \
      -o /out/rcbs ./cmd/rcbs \
 && mkdir -m 1777 /out/tmp

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /out/tmp /tmp
COPY --from=build /out/rcbs /rcbs
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
ENTRYPOINT ["/rcbs"]
