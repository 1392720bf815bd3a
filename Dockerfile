# syntax=docker/dockerfile:1
# orderdesk: a static Go binary on distroless, running as non-root.

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG VERSION=dev
# PROD_TAGS as in the Makefile: nomsgpack leaves gin's MessagePack binding
# out, nodemo the demo and sandbox commands.
ARG PROD_TAGS=nomsgpack,nodemo
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=linux go build -trimpath -tags "${PROD_TAGS}" -ldflags "-s -w -X main.version=${VERSION}" -o /out/orderdesk ./cmd/orderdesk

# distroless/static carries CA certificates (for Shopify over TLS) and tzdata,
# and nothing else: no shell, no package manager.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/orderdesk /usr/local/bin/orderdesk
USER 65532:65532
EXPOSE 8080
ENV ORDERDESK_HTTP_ADDR=:8080
ENTRYPOINT ["/usr/local/bin/orderdesk"]
CMD ["serve"]
